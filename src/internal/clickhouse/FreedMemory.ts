import * as Effect from "effect/Effect"
import type { StorageQueryError, StorageUnavailable } from "../../StorageError.js"

/**
 * The embedded engine's freed memory, given back to the system after large rows.
 *
 * chDB's allocator (jemalloc, built with `dirty_decay_ms:5000` and no background thread, and no
 * environment variable it reads) keeps freed pages for seconds; a ClickHouse server's memory worker
 * purges them, the embedded engine has none. With ordinary spans that costs nothing, but rows of
 * ~1 MB (a large prompt) churn their size in pages on every insert and merge, and a lite process
 * stored 3,000 of them at a 1,148 MiB peak (790 MiB purging after every insert; BENCHMARKS, "Writer
 * memory with 1 MB prompts"). A purge takes 30–120 ms, so it runs only after inserts of large rows,
 * once every {@link purgeEveryBytes} of them: ordinary spans never pay for it.
 */

/** Rows this large on average make an insert count towards the next purge. */
const largeRowBytes = 64 * 1024

/** Bytes of large-row inserts between two purges. */
const purgeEveryBytes = 16 * 1024 * 1024

export interface FreedMemory {
  /** Counts an insert of `bytes` in `rows` rows (unknown: not counted); whether a purge is due now. */
  readonly inserted: (bytes: number, rows: number | undefined) => boolean
  /** Purges through `command`; a failed purge is logged, never the insert's failure (its rows are stored). */
  readonly purge: (
    command: (operation: string, sql: string) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
  ) => Effect.Effect<void>
}

export const make = (): FreedMemory => {
  const state = { largeSincePurge: 0 }
  return {
    inserted: (bytes, rows) => {
      if (rows === undefined || rows === 0 || bytes / rows < largeRowBytes) return false
      state.largeSincePurge += bytes
      if (state.largeSincePurge < purgeEveryBytes) return false
      // Due now, and counted as done: two inserts finishing together purge once.
      state.largeSincePurge = 0
      return true
    },
    purge: (command) =>
      command("ClickHouseClient.purgeMemory", "SYSTEM JEMALLOC PURGE").pipe(
        Effect.catchAll((error) => Effect.logWarning(`chDB: could not give freed memory back to the system (${error.message})`))
      )
  }
}
