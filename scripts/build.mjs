#!/usr/bin/env node
// Bundles each Node program into one file with esbuild (type checking is
// `tsc -b`, run before this by `npm run build`). One file per program keeps the
// VM image small and start-up fast; the native addon and its exec shim are
// copied beside the agent's bundle, where runtime/native.ts looks first.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, chmodSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // ssh2's optional native helpers are loaded in try/catch; they stay out.
  external: ['*.node', 'cpu-features'],
  banner: {
    // Bundled CommonJS dependencies call require(); give ESM one.
    // ssh2 also reads __dirname (for a Windows helper path it never uses here).
    js: "#!/usr/bin/env node\nimport { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url); const __dirname = import.meta.dirname;",
  },
};

const programs = [{ entry: 'apps/vm-agent/src/main.ts', out: 'apps/vm-agent/dist/main.js' }];
if (existsSync(join(root, 'apps/main/src/cli.ts'))) programs.push({ entry: 'apps/main/src/cli.ts', out: 'apps/main/dist/cli.js' });

for (const p of programs) {
  await build({ ...common, entryPoints: [join(root, p.entry)], outfile: join(root, p.out) });
  chmodSync(join(root, p.out), 0o755);
}

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
