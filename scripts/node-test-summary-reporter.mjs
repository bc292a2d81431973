// A node:test reporter that appends the run's totals to JEST_SUMMARY_FILE, in the jest summary reporter's
// format, so scripts/test-summary.cjs counts the root-level tests (scripts/test/) with the packages' ones.
import fs from 'node:fs';

/** Counts leaf tests (suites are containers, not tests) and writes one line when the run ends. */
export default async function* summaryReporter(source) {
  const totals = { cwd: process.cwd(), passed: 0, failed: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) totals.skipped += 1;
    else if (event.type === 'test:pass') totals.passed += 1;
    else totals.failed += 1;
  }
  if (process.env.JEST_SUMMARY_FILE) fs.appendFileSync(process.env.JEST_SUMMARY_FILE, JSON.stringify(totals) + '\n');
  yield '';
}
