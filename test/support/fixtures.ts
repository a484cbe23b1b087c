// Our suites use the fixture builders users get from `llmtrace-storage/testing` (one implementation).
export * from "../../src/testing/Fixtures.js"
