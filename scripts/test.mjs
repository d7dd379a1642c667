#!/usr/bin/env node
// Runs every test suite and ends with the line `N passed, N failed`.
//
//   node scripts/test.mjs                 all suites
//   node scripts/test.mjs unit engine     only these suites
//   node scripts/test.mjs engine -- pull  only files whose path contains "pull"
//
// Each suite is one `node --test` run (TypeScript through tsx); a reporter
// writes the counts to a file so we can sum them without parsing output. The
// component suite is one Vitest run (React in Chromium, browser mode) whose
// JSON report gives its counts the same way.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Suite name -> where its files are and how many files may run at once. */
const suites = {
  unit: { dirs: ['apps', 'packages', 'native/test', 'resources/images', 'tests/unit'], concurrency: 2 },
  engine: { dirs: ['tests/engine'], concurrency: 2, root: true },
  vm: { dirs: ['tests/vm'], concurrency: 1, root: true },
  dashboard: { dirs: ['tests/dashboard'], concurrency: 1, root: true },
  component: { dirs: ['tests/component'], vitest: 'tests/component/vitest.config.ts' },
};

function findTests(dir, ends = ['.test.ts', '.test.mjs']) {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  const out = [];
  for (const name of readdirSync(abs)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(abs, name);
    if (statSync(p).isDirectory()) out.push(...findTests(join(dir, name), ends));
    else if (ends.some((e) => name.endsWith(e))) out.push(p);
  }
  return out.sort();
}

/** The component suite takes about a minute; ten is a run that hangs (Chromium not answering on a loaded machine). */
const VITEST_LIMIT_MIN = Number(process.env.BERTH_COMPONENT_LIMIT_MIN ?? 10);

/** `vitest run` with its usual output on stdout and a JSON report (the counts) in `countFile`. */
function vitestArgs(config, countFile, files) {
  return [
    join(root, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--config',
    config,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${countFile}`,
    ...files.map((f) => relative(root, f)),
  ];
}

/** A file that fails to load has no failed test but a failed suite: count it, so it never reads as green. */
function vitestCounts(file) {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const unloaded = r.testResults.filter((f) => f.status === 'failed' && !f.assertionResults.length).length;
  return { passed: r.numPassedTests, failed: r.numFailedTests + unloaded, skipped: r.numPendingTests + r.numTodoTests };
}

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const names = (sep === -1 ? argv : argv.slice(0, sep)).filter(Boolean);
const filters = sep === -1 ? [] : argv.slice(sep + 1);
const chosen = names.length ? names : Object.keys(suites);
for (const n of chosen) if (!suites[n]) throw new Error(`unknown suite "${n}"; suites: ${Object.keys(suites).join(', ')}`);

const work = mkdtempSync(join(tmpdir(), 'berth-test-'));
const total = { passed: 0, failed: 0, skipped: 0 };

for (const name of chosen) {
  const suite = suites[name];
  let files = suite.dirs.flatMap((d) => findTests(d, suite.vitest ? ['.test.tsx'] : undefined));
  if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
  if (!files.length) continue;
  if (suite.root && process.getuid?.() !== 0) {
    console.log(`\n# suite ${name}: needs root (it runs containers); run the tests as root`);
    total.failed += files.length;
    continue;
  }
  console.log(`\n# suite ${name}: ${files.map((f) => relative(root, f)).join(' ')}`);
  const countFile = join(work, `${name}.json`);
  const code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      suite.vitest
        ? vitestArgs(suite.vitest, countFile, files)
        : [
            '--import',
            'tsx',
            '--test',
            `--test-concurrency=${suite.concurrency}`,
            '--test-reporter=spec',
            '--test-reporter-destination=stdout',
            `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`,
            `--test-reporter-destination=${countFile}`,
            ...files,
          ],
      { cwd: root, stdio: 'inherit', env: { ...process.env, BERTH_REPO: root } },
    );
    // A browser that never answers must not hold `npm test` forever: a stuck run counts as failed.
    const limit =
      suite.vitest &&
      setTimeout(() => {
        console.log(`# suite ${name}: no result after ${VITEST_LIMIT_MIN} minutes; stopped`);
        child.kill('SIGKILL');
      }, VITEST_LIMIT_MIN * 60_000);
    child.on('exit', (c, sig) => {
      clearTimeout(limit);
      resolve(c ?? (sig ? 128 : 1));
    });
  });
  let counts;
  try {
    counts = suite.vitest ? vitestCounts(countFile) : JSON.parse(readFileSync(countFile, 'utf8').trim().split('\n').pop());
  } catch {
    counts = { passed: 0, failed: 1, skipped: 0 }; // the runner died before reporting
  }
  if (code !== 0 && counts.failed === 0) counts.failed = 1; // never let a crash read as green
  console.log(`# suite ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  total.passed += counts.passed;
  total.failed += counts.failed;
  total.skipped += counts.skipped;
}
rmSync(work, { recursive: true, force: true });
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed ? 1 : 0);
