/**
 * The layering of ARCHITECTURE.md, checked on every import: lower layers
 * never import upper ones, only apps/main/src/electron imports Electron, and
 * the renderer imports no Node code. A failure names the file, the import
 * and the rule, so the fix is obvious.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

/** The folder (layer) of a file under apps/vm-agent/src, or '' for top-level files. */
function agentLayer(abs: string): string {
  const rel = relative(join(root, 'apps/vm-agent/src'), abs);
  return rel.includes('/') ? rel.split('/')[0]! : '';
}

// What each agent layer may import besides itself and the shared top-level files (errors.ts, util/).
const AGENT_ALLOWED: Record<string, string[]> = {
  util: [],
  runtime: ['util'],
  images: ['util', 'runtime'],
  network: ['util', 'runtime'],
  volumes: ['util', 'runtime'],
  engine: ['util', 'runtime', 'images', 'network', 'volumes'],
  build: ['util', 'runtime', 'images', 'network', 'volumes', 'engine'],
  api: ['util', 'runtime', 'images', 'network', 'volumes', 'engine', 'build'],
  ssh: ['util', 'runtime'],
};

test('agent layers import only the layers below them', () => {
  const problems: string[] = [];
  for (const file of sources(join(root, 'apps/vm-agent/src'))) {
    const from = agentLayer(file);
    if (from === '' || from === 'testing') continue;
    const allowed = AGENT_ALLOWED[from];
    if (!allowed) {
      problems.push(`${relative(root, file)}: folder "${from}" has no rule here; add it to AGENT_ALLOWED`);
      continue;
    }
    for (const spec of imports(file)) {
      if (!spec.startsWith('.')) continue;
      const target = agentLayer(resolve(dirname(file), spec));
      if (target === '' || target === from || allowed.includes(target) || target === 'testing') continue;
      problems.push(`${relative(root, file)} imports ${spec}: ${from}/ may import only ${allowed.join(', ') || 'nothing below it'}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('only apps/main/src/electron imports electron', () => {
  const problems: string[] = [];
  for (const dir of ['apps/main/src', 'apps/vm-agent/src', 'apps/renderer/src']) {
    for (const file of sources(join(root, dir))) {
      if (relative(root, file).startsWith('apps/main/src/electron/')) continue;
      for (const spec of imports(file)) if (spec === 'electron' || spec.startsWith('electron/')) problems.push(`${relative(root, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the renderer imports no Node code and nothing of main but the shared types', () => {
  const problems: string[] = [];
  for (const file of sources(join(root, 'apps/renderer/src'))) {
    for (const spec of imports(file)) {
      if (spec.startsWith('node:') || ['fs', 'path', 'child_process', 'net', 'os'].includes(spec)) problems.push(`${relative(root, file)} imports ${spec}`);
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(dirname(file), spec));
        if (!target.startsWith('apps/renderer/') && !target.startsWith('apps/main/src/shared/')) problems.push(`${relative(root, file)} imports ${spec} (outside the renderer and apps/main/src/shared)`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the agent never imports main, and main never imports the agent', () => {
  const problems: string[] = [];
  for (const [dir, forbidden] of [['apps/vm-agent/src', 'apps/main/'], ['apps/main/src', 'apps/vm-agent/']] as const) {
    for (const file of sources(join(root, dir))) {
      for (const spec of imports(file)) {
        if (spec.startsWith('.') && relative(root, resolve(dirname(file), spec)).startsWith(forbidden)) problems.push(`${relative(root, file)} imports ${spec}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});
