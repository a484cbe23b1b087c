/**
 * `llmtrace-storage/postgres`: metadata in PostgreSQL. Building a client loads `pg` (through `@effect/sql-pg`).
 */
export * as PostgresClient from "./PostgresClient.js"
export * as SqlMetadataRepository from "../sql/SqlMetadataRepository.js"
