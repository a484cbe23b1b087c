/**
 * `llmtrace-storage/testing/vitest`: the contract suites our own backends pass, to run on a backend
 * of your own (needs `vitest@3` and `@effect/vitest@0.30`, optional peer dependencies of this package).
 */
export * as CacheContract from "./CacheContract.js"
export * as MetadataRepositoryContract from "./MetadataRepositoryContract.js"
export * as TraceRepositoryContract from "./TraceRepositoryContract.js"
export * as TraceWriterContract from "./TraceWriterContract.js"
