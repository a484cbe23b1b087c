/**
 * `llmtrace-storage/testing`: test layers over every profile, deterministic fixture builders and
 * Schema-derived arbitraries, usable from any test runner (no vitest needed). The contract suites
 * are in `llmtrace-storage/testing/vitest`.
 */
export * as Arbitraries from "./Arbitraries.js"
export * as Fixtures from "./Fixtures.js"
export * as TestStorage from "./TestStorage.js"
export * as LiveService from "./LiveService.js"
