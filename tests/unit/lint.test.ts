/**
 * The layer rules of eslint.config.js fail on a wrong-way import and pass
 * without it. Each case lints a file placed in a layer (eslint's own API,
 * the file's path inside the tree, its text given), once with the planted
 * import and once without, and expects the rule's message; one case writes a
 * real file into the tree and runs the eslint CLI as `npm run lint` does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The config is plain JavaScript (eslint loads it as is): read its layer tables by URL, typed here.
const config = (await import(new URL('../../eslint.config.js', import.meta.url).href)) as Record<'AGENT_LAYERS' | 'MAIN_LAYERS', Record<string, string[]>> & {
  PACKAGES: string[];
};
const eslint = new ESLint({ cwd: root });

/** The messages eslint gives `text` as the file `rel` (a path inside the tree, which need not exist). */
async function lint(rel: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(root, rel) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

interface Case {
  name: string;
  /** Where the file sits. */
  file: string;
  /** The wrong-way import, planted among good lines. */
  planted: string;
  /** A part of the message that must name the rule broken. */
  says: RegExp;
}

// Each file also holds a good import of its own layer or one below, which must stay quiet.
const CASES: (Case & { good: string })[] = [
  {
    name: 'agent: images/ imports engine/ for its side effect',
    file: 'apps/vm-agent/src/images/probe.ts',
    good: "import { AtomicFile } from '../util/atomic-file.js';\nexport const a = AtomicFile;",
    planted: "import '../engine/containers.js';",
    says: /apps\/vm-agent\/src\/images\/ may import only util, runtime/,
  },
  {
    name: 'agent: engine/ re-exports from api/, two folders down',
    file: 'apps/vm-agent/src/engine/deep/er/probe.ts',
    good: "export { x } from '../../../runtime/native.js';",
    planted: "export * from '../../../api/router.js';",
    says: /engine\/ may import only util, runtime, images, network, volumes/,
  },
  {
    name: 'agent: api/ loads ssh/ with import()',
    file: 'apps/vm-agent/src/api/routes/probe.ts',
    good: "export const e = () => import('../../engine/events.js');",
    planted: "export const s = () => import('../../ssh/ssh-server.js');",
    says: /api\/ may import only/,
  },
  {
    name: 'agent: runtime/ imports engine/',
    file: 'apps/vm-agent/src/runtime/probe.ts',
    good: "import '../util/trace.js';",
    planted: "export type { X } from '../engine/containers.js';",
    says: /runtime\/ may import only util/,
  },
  {
    name: 'agent: a folder outside runtime/ loads the addon',
    file: 'apps/vm-agent/src/network/probe.ts',
    good: "import { builtinModules } from 'node:module';\nexport const b = builtinModules;",
    planted: "import { createRequire } from 'node:module';\nexport const r = createRequire;",
    says: /only apps\/vm-agent\/src\/runtime\/ loads the C addon/,
  },
  {
    name: 'agent: imports apps/main',
    file: 'apps/vm-agent/src/probe.ts',
    good: "import './errors.js';",
    planted: "import '../../main/src/contract/dispatch.js';",
    says: /the agent never imports apps\/main/,
  },
  {
    name: 'agent: imports the main/renderer contract package',
    file: 'apps/vm-agent/src/ssh/probe.ts',
    good: "import { frameDatagram } from '@berth/protocol';\nexport const f = frameDatagram;",
    planted: "import type { EngineState } from '@berth/api';\nexport type E = EngineState;",
    says: /the agent never imports the main\/renderer contract/,
  },
  {
    name: 'main: a service outside electron/ imports Electron',
    file: 'apps/main/src/web/probe.ts',
    good: "import './guard.js';",
    planted: "import { app } from 'electron';\nexport const a = app;",
    says: /only apps\/main\/src\/electron\/ imports Electron/,
  },
  {
    name: 'main: imports the agent',
    file: 'apps/main/src/link/probe.ts',
    good: "import './vm-link.js';",
    planted: "import '../../../vm-agent/src/errors.js';",
    says: /apps\/main never imports the agent/,
  },
  {
    name: 'main: vm/ imports daemon/ (one of the circles the table broke)',
    file: 'apps/main/src/vm/probe.ts',
    good: "import '../util/atomic-file.js';",
    planted: "import { startVm } from '../daemon/vm-control.js';\nexport const s = startVm;",
    says: /apps\/main\/src\/vm\/ may import only util of the other folders/,
  },
  {
    name: 'main: util/ imports settings/ for its side effect',
    file: 'apps/main/src/util/probe.ts',
    good: "import './checkout-path.js';",
    planted: "import '../settings/settings.js';",
    says: /apps\/main\/src\/util\/ may import only itself/,
  },
  {
    name: 'main: host/ loads engines/ with import()',
    file: 'apps/main/src/host/probe.ts',
    good: "import '../link/vm-link.js';",
    planted: "export const e = () => import('../engines/choose-engine.js');",
    says: /apps\/main\/src\/host\/ may import only util, link of the other folders/,
  },
  {
    name: 'main: the dashboard service imports cli.ts',
    file: 'apps/main/src/dashboard/probe.ts',
    good: "import '../engines/engine-target.js';",
    planted: "import '../cli.js';",
    says: /cli\.ts is a composition root: nothing imports it/,
  },
  {
    name: 'renderer: imports a Node built-in',
    file: 'apps/renderer/src/lib/probe.ts',
    good: "import '@berth/api';",
    planted: "import { readFileSync } from 'fs';\nexport const r = readFileSync;",
    says: /the renderer imports no Node code/,
  },
  {
    name: 'renderer: imports main beyond the contract package',
    file: 'apps/renderer/src/pages/probe.tsx',
    good: "import type { EngineState } from '@berth/api';\nexport type E = EngineState;",
    planted: "import '../../../main/src/settings/settings.js';",
    says: /the renderer imports nothing outside apps\/renderer but the main\/renderer contract, @berth\/api/,
  },
  {
    name: "renderer: imports main's side of the contract by path",
    file: 'apps/renderer/src/api/probe.ts',
    good: "import './client.js';",
    planted: "export type { BerthService } from '../../../main/src/contract/berth-service.js';",
    says: /the renderer imports nothing outside apps\/renderer but the main\/renderer contract, @berth\/api/,
  },
  {
    name: 'renderer: imports the main/agent wire formats',
    file: 'apps/renderer/src/lib/probe.ts',
    good: "import '@berth/api';",
    planted: "export const p = () => import('@berth/protocol');",
    says: /the renderer imports nothing outside apps\/renderer but the main\/renderer contract, @berth\/api/,
  },
  {
    name: 'packages: protocol imports apps/main (packages -> apps)',
    file: 'packages/protocol/src/probe.ts',
    good: "import './udp-relay.js';",
    planted: "import { writeFileAtomic } from '../../../apps/main/src/util/atomic-file.js';\nexport const w = writeFileAtomic;",
    says: /packages\/protocol\/ imports nothing outside its own src\/ \(no apps\/, no other package\)/,
  },
  {
    name: 'packages: berth-api re-exports from the renderer, one folder down',
    file: 'packages/berth-api/src/deep/probe.ts',
    good: "export * from '../lines.js';",
    planted: "export * from '../../../../apps/renderer/src/api/client.js';",
    says: /packages\/berth-api\/ imports nothing outside its own src\//,
  },
  {
    name: 'packages: berth-api imports Node',
    file: 'packages/berth-api/src/probe.ts',
    good: "import './lines.js';",
    planted: "import { Buffer } from 'node:buffer';\nexport const b = Buffer;",
    says: /packages\/berth-api\/ imports no module by name \(no Node/,
  },
  {
    name: 'packages: protocol imports the other package',
    file: 'packages/protocol/src/probe.ts',
    good: "import './ports-not-available.js';",
    planted: "import '@berth/api';",
    says: /packages\/protocol\/ imports no module by name/,
  },
];

for (const c of CASES) {
  test(`lint refuses ${c.name}, and passes without it`, async () => {
    assert.deepEqual(await lint(c.file, `${c.good}\n`), [], 'the file without the planted import is clean');
    const messages = await lint(c.file, `${c.good}\n${c.planted}\n`);
    assert.equal(messages.length, 1, `one problem: ${messages.join('\n')}`);
    assert.match(messages[0]!, c.says);
  });
}

test('Electron stays allowed in electron/, and a layer may import itself', async () => {
  assert.deepEqual(await lint('apps/main/src/electron/probe.ts', "import { app } from 'electron';\nexport const a = app;\n"), []);
  assert.deepEqual(await lint('apps/vm-agent/src/engine/probe.ts', "import './containers.js';\nimport '../network/network-service.js';\n"), []);
});

for (const [app, table] of [
  ['apps/vm-agent/src', 'AGENT_LAYERS'],
  ['apps/main/src', 'MAIN_LAYERS'],
] as const) {
  test(`every folder of ${app} has a line in ${table}`, () => {
    const folders = readdirSync(join(root, app), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    assert.deepEqual(
      folders.filter((f) => !(f in config[table])),
      [],
      `add the folder to ${table} in eslint.config.js`,
    );
  });
}

test('every folder of packages/ is in PACKAGES', () => {
  const folders = readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  assert.deepEqual(
    folders.filter((f) => !config.PACKAGES.includes(f)),
    [],
    'add the package to PACKAGES in eslint.config.js',
  );
});

// A file planted in the tree, linted by the CLI as `npm run lint` lints it: a wrong-way import, then a right one.
const CLI_CASES = [
  {
    dir: 'apps/vm-agent/src/volumes',
    bad: "import '../api/router.js';\n",
    says: /volumes\/ may import only util, runtime/,
    good: "import '../runtime/native.js';\n",
  },
  {
    dir: 'packages/protocol/src',
    bad: "import '../../../apps/vm-agent/src/errors.js';\n",
    says: /packages\/protocol\/ imports nothing outside its own src\//,
    good: "import './udp-relay.js';\n",
  },
];

for (const c of CLI_CASES) {
  test(`the eslint CLI (npm run lint) exits 1 on a planted file in ${c.dir} and 0 once it is fixed`, () => {
    const rel = `${c.dir}/lint-probe-${process.pid}.ts`;
    const file = join(root, rel);
    const run = () => spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), rel], { cwd: root, encoding: 'utf8' });
    try {
      writeFileSync(file, c.bad);
      const bad = run();
      assert.equal(bad.status, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, c.says);
      writeFileSync(file, c.good);
      const good = run();
      assert.equal(good.status, 0, good.stdout + good.stderr);
    } finally {
      rmSync(file, { force: true });
    }
  });
}
