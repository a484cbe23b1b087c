import type { TraceSpan } from "./Trace.js"
import { utf8Length } from "./Primitives.js"

/**
 * What a span counts towards `StorageStats.storageSizeBytes`, the same on every engine: the UTF-8
 * bytes of its prompt, response and error message, of the JSON text of its security findings,
 * events and agent actions (as `JSON.stringify` writes them, which is how ClickHouse stores them),
 * and of every tag key and value. ClickHouse computes the same sum with `length()` when a row is
 * inserted (the `size_bytes` column's DEFAULT, migration 2).
 */
export const spanStorageBytes = (s: TraceSpan): number => {
  let bytes = utf8Length(s.prompt) + utf8Length(s.response ?? "") + utf8Length(s.errorMessage ?? "") +
    utf8Length(JSON.stringify(s.securityFindings)) + utf8Length(JSON.stringify(s.events)) +
    utf8Length(JSON.stringify(s.agentActions))
  for (const [key, value] of Object.entries(s.tags)) bytes += utf8Length(key) + utf8Length(value)
  return bytes
}
