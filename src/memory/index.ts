/**
 * `llmtrace-storage/memory`: traces and cache in plain maps, for tests, examples and demos. No driver.
 */
export * as MemoryCache from "./MemoryCache.js"
export * as MemoryTraceRepository from "./MemoryTraceRepository.js"
