// Appends each jest run's totals to a file, so .ci/run can print one `N passed, N failed` line
// for the whole workspace (turbo runs one jest per package).
'use strict';
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.JEST_SUMMARY_FILE;
    if (!file) return;
    const line = JSON.stringify({
      cwd: process.cwd(),
      passed: results.numPassedTests,
      // A file that could not run at all counts as one failure, so it is never silently lost.
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    });
    fs.appendFileSync(file, line + '\n');
  }
}
module.exports = SummaryReporter;
