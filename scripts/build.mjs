#!/usr/bin/env node
// Bundles each Node program into one file with esbuild (type checking is
// `tsc -b`, run before this by `npm run build`). One file per program keeps the
// VM image small and start-up fast; the native addon and its exec shim are
// copied beside the agent's bundle, where runtime/native.ts looks first.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, chmodSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // ssh2's optional native helpers are loaded in try/catch; they stay out.
  external: ['*.node', 'cpu-features'],
};

const esm = {
  ...common,
  format: 'esm',
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM one.
    // ssh2 also reads __dirname (for a Windows helper path it never uses here).
    js: "#!/usr/bin/env node\nimport { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url); const __dirname = import.meta.dirname;",
  },
};

// The agent is CommonJS so that its loader (main.cjs, src/loader.ts) can
// compile it through vm.Script with V8's code cache; its import.meta.url
// becomes the bundle's own file URL. (.cjs: the repository is "type": "module".)
const cjs = {
  ...common,
  format: 'cjs',
  define: { 'import.meta.url': '__berth_import_meta_url' },
  banner: { js: 'const __berth_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
};

const programs = [
  { entry: 'apps/vm-agent/src/main.ts', out: 'apps/vm-agent/dist/agent.cjs', options: cjs },
  {
    entry: 'apps/vm-agent/src/loader.ts',
    out: 'apps/vm-agent/dist/main.cjs',
    options: { ...common, format: 'cjs', sourcemap: false, banner: { js: '#!/usr/bin/env node' } },
  },
];
if (existsSync(join(root, 'apps/main/src/cli.ts'))) programs.push({ entry: 'apps/main/src/cli.ts', out: 'apps/main/dist/cli.js', options: esm });

for (const p of programs) {
  await build({ ...p.options, entryPoints: [join(root, p.entry)], outfile: join(root, p.out) });
  chmodSync(join(root, p.out), 0o755);
}
// The agent's ESM bundle before it was CommonJS: gone, so nothing starts it by mistake.
for (const stale of ['main.js', 'main.js.map']) rmSync(join(root, 'apps/vm-agent/dist', stale), { force: true });

// The addon and its exec shim (berth-shim, which it loads from beside itself).
for (const file of ['berth_native.node', 'berth-shim']) {
  const from = join(root, 'native/build/Release', file);
  if (!existsSync(from)) continue;
  mkdirSync(join(root, 'apps/vm-agent/dist'), { recursive: true });
  // Copy then rename: a running agent has the old file mapped (or the shim
  // bound at /sbin/docker-init), and writing into it in place would crash it.
  const dest = join(root, 'apps/vm-agent/dist', file);
  copyFileSync(from, `${dest}.tmp`);
  renameSync(`${dest}.tmp`, dest);
}
console.log(`built ${programs.map((p) => p.out).join(', ')}`);
