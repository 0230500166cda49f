#!/usr/bin/env node
// Prints "N passed, N failed[, N skipped]" from vitest's JSON report (CI reads this line).
// A second argument of 1 says `npm run lint` failed: counted as one more failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const lintFailed = process.argv[3] === '1' ? 1 : 0;
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`could not read the test report ${file}: ${err.message}`);
  console.log(`0 passed, ${1 + lintFailed} failed`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
const allFailed = failed + brokenFiles + lintFailed;
console.log(`${passed} passed, ${allFailed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(allFailed > 0 || passed === 0 ? 1 : 0);
