import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import { StorageUnavailable } from "../../src/index.js"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import * as FreedMemory from "../../src/internal/clickhouse/FreedMemory.js"

const MiB = 1024 * 1024

/** A `command` that records what it was asked to run, and fails when told to. */
const recorder = (fail = false) => {
  const ran: Array<string> = []
  const command = (_operation: string, sql: string) =>
    Effect.suspend(() => {
      ran.push(sql)
      return fail ? Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: "test", message: "engine busy" })) : Effect.void
    })
  return { ran, command }
}

describe("FreedMemory (chDB gives freed pages back after large rows)", () => {
  it("is due once every 16 MiB of inserts whose rows average 64 KiB or more; ordinary rows and unknown counts never count", () => {
    const memory = FreedMemory.make()
    // 100,000 rows of 1 kB, and a body whose row count is unknown (a prebuilt body): never due.
    for (let i = 0; i < 100; i++) expect(memory.inserted(10 * MiB, 10_000)).toBe(false)
    expect(memory.inserted(100 * MiB, undefined)).toBe(false)
    // 1 MB rows in 5-row inserts: due at the fourth (20 MB >= 16 MiB), then counted from zero again.
    const due = Array.from({ length: 8 }, () => memory.inserted(5_000_000, 5))
    expect(due).toEqual([false, false, false, true, false, false, false, true])
    // Exactly 64 KiB a row counts.
    expect(FreedMemory.make().inserted(16 * MiB, 256)).toBe(true)
  })

  it.effect("purges with SYSTEM JEMALLOC PURGE; a failed purge is one warning, never a failure", () =>
    Effect.gen(function*() {
      const ok = recorder()
      yield* FreedMemory.make().purge(ok.command)
      expect(ok.ran).toEqual(["SYSTEM JEMALLOC PURGE"])

      const failing = recorder(true)
      const logs: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => logs.push(`${logLevel.label} ${String(message)}`))
      yield* FreedMemory.make().purge(failing.command).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(failing.ran).toEqual(["SYSTEM JEMALLOC PURGE"])
      expect(logs).toEqual([expect.stringMatching(/^WARN chDB: could not give freed memory back.*engine busy/)])
    }))

  it.effect("the embedded engine runs the purge statement; inserts of 1 MB rows through the client, purges due on the way, store every row", () =>
    Effect.gen(function*() {
      const ch = yield* ClickHouseClient.make({ url: Redacted.make("chdb::memory:") })
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => logs.push(String(message)))
      yield* FreedMemory.make().purge(ch.command).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(logs).toEqual([])
      // 40 rows of 1 MB in inserts of 8 (a purge is due after each 16 MiB of them): every row is there, nothing logged.
      yield* ch.command("test.create", "CREATE TABLE big (id UInt32, text String) ENGINE = MergeTree ORDER BY id")
      for (let i = 0; i < 5; i++) {
        yield* ch.insert("test.insert", "big", Array.from({ length: 8 }, (_, k) => ({ id: i * 8 + k, text: "x".repeat(1_000_000) })))
      }
      const rows = yield* ch.query<{ n: string | number }>("test.count", "SELECT count() AS n FROM big")
      expect(Number(rows[0]!.n)).toBe(40)
      expect(logs).toEqual([])
    }).pipe(Effect.scoped), 60_000)
})
