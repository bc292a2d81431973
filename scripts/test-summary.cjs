#!/usr/bin/env node
// `node scripts/test-summary.cjs <summary-file> <status>`: prints one `N passed, N failed` line for the whole
// workspace, summed over the lines each test run appended to the file (scripts/jest-summary-reporter.cjs,
// scripts/node-test-summary-reporter.mjs). Plain CommonJS, so any Node runs it (.ci/run uses the machine's).
'use strict';
const fs = require('node:fs');

/** Sums the runs' totals; a failed suite that reported no failure still counts one, so it is never green. */
function summarise(text, status) {
  let passed = 0;
  let failed = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const run = JSON.parse(line);
      passed += Number(run.passed) || 0;
      failed += Number(run.failed) || 0;
    } catch {
      failed += 1; // a garbled line is never counted as a pass
    }
  }
  if (status !== 0 && failed === 0) failed = 1;
  return `${passed} passed, ${failed} failed`;
}

if (require.main === module) {
  const [file, status] = process.argv.slice(2);
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // no run reported anything: the status decides
  }
  console.log(summarise(text, Number(status)));
}
module.exports = { summarise };
