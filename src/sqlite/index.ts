/**
 * `llmtrace-storage/sqlite`: metadata in SQLite. Building a client loads `better-sqlite3` (through `@effect/sql-sqlite-node`).
 */
export * as SqliteClient from "./SqliteClient.js"
export * as SqlMetadataRepository from "../sql/SqlMetadataRepository.js"
