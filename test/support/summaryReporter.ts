import type { Reporter, SerializedError, TestModule, TestSuite } from 'vitest/node';

export interface SummaryCounts {
  passed: number;
  /** Failed tests + failed suites + unhandled errors: everything that makes the run fail. */
  failed: number;
  skipped: number;
  failedTests: number;
  /** Test files that failed to load and suites (or files) whose hooks threw. */
  failedSuites: number;
  unhandledErrors: number;
}

/**
 * The counts of a finished run. A test file that throws while loading has no tests, and a `beforeAll`
 * that throws leaves its tests skipped, so counting test results alone would report such a run as
 * `0 failed`; the errors recorded on files and suites, and the run's unhandled errors, count as well.
 */
export function summaryCounts(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError> = [],
): SummaryCounts {
  const counts = { passed: 0, failedTests: 0, skipped: 0, failedSuites: 0 };
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed += 1;
      else if (state === 'failed') counts.failedTests += 1;
      else counts.skipped += 1;
    }
    const suites: Array<TestModule | TestSuite> = [module, ...module.children.allSuites()];
    counts.failedSuites += suites.filter((suite) => suite.errors().length > 0).length;
  }
  return {
    ...counts,
    failed: counts.failedTests + counts.failedSuites + unhandledErrors.length,
    unhandledErrors: unhandledErrors.length,
  };
}

/** The one summary line; its `tests: N passed, N failed, N skipped` head is what CI logs are read for. */
export function summaryLine(counts: SummaryCounts): string {
  const causes = [
    `${counts.failedTests} test(s)`,
    `${counts.failedSuites} suite(s) that failed to load or whose hooks threw`,
    `${counts.unhandledErrors} unhandled error(s)`,
  ];
  return `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${
    counts.failed ? ` (failed: ${causes.join(', ')})` : ''
  }`;
}

/** Ends the run with the plain summary line. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>) {
    process.stdout.write(`\n${summaryLine(summaryCounts(testModules, unhandledErrors))}\n`);
  }
}
