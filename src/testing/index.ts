/**
 * `llmtrace-storage/testing`: test layers over every profile, deterministic fixture builders,
 * Schema-derived arbitraries, and the contract suites our own backends pass (needs `vitest` and
 * `@effect/vitest`, optional peer dependencies of this package).
 */
export * as Arbitraries from "./Arbitraries.js"
export * as Fixtures from "./Fixtures.js"
export * as TestStorage from "./TestStorage.js"
export * as LiveService from "./LiveService.js"
export * as CacheContract from "./CacheContract.js"
export * as MetadataRepositoryContract from "./MetadataRepositoryContract.js"
export * as TraceRepositoryContract from "./TraceRepositoryContract.js"
export * as TraceWriterContract from "./TraceWriterContract.js"
