// A node:test reporter that only counts: it appends one JSON line
// {"passed":N,"failed":N,"skipped":N} per run to the destination, which
// scripts/test.mjs sums over every suite. Suites (describe blocks) and the
// per-file wrappers are not tests; only leaf tests count.
export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { details } = event.data;
    if (details?.type === 'suite') {
      // A suite that failed outside its tests (a hook, a load error) still counts once.
      if (event.type === 'test:fail' && details.error?.failureType !== 'subtestsFailed') failed++;
      continue;
    }
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield JSON.stringify({ passed, failed, skipped }) + '\n';
}
