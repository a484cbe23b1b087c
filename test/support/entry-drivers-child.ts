// A process that loads one entry of the package and, optionally, builds one of its layers, while
// package-hooks.mjs records the packages it loads (test/entries/Drivers.test.ts):
//   entry-drivers-child.ts LOG ENTRY_FILE [CASE]
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { register } from "node:module"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

const [log, entryFile, name] = process.argv.slice(2) as [string, string, string | undefined]
register("./package-hooks.mjs", import.meta.url, { data: { log } })

// Nothing listens on port 1: a client loads its driver, then fails to connect.
const nowhere = "127.0.0.1:1"
const dataDir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-drivers-"))

type Core = typeof import("../../src/index.js")
type ClickHouse = typeof import("../../src/clickhouse/index.js")
type Postgres = typeof import("../../src/postgres/index.js")
type Sqlite = typeof import("../../src/sqlite/index.js")
type Redis = typeof import("../../src/redis/index.js")

/** Builds a layer and releases it; a client that cannot connect fails after loading its driver, which is what is recorded. */
const build = <A, E>(layer: Layer.Layer<A, E>) => Effect.scoped(Layer.build(layer)).pipe(Effect.ignore)

/** Each case builds a layer of the entry the test names, loaded as a user loads it (the module is typed here). */
const cases: Record<string, (entry: unknown) => Effect.Effect<void>> = {
  memory: (core) => build((core as Core).StorageProfile.memory),
  lite: (core) => build((core as Core).StorageProfile.lite({ dataDir })),
  production: (core) =>
    build((core as Core).StorageProfile.production({
      clickhouse: { url: Redacted.make(`http://${nowhere}`), connectTimeout: "1 second" },
      postgres: { url: Redacted.make(`postgres://llmtrace@${nowhere}/llmtrace`), connectTimeout: "1 second" },
      redis: { url: Redacted.make(`redis://${nowhere}`), connectTimeout: "1 second" },
      writer: { deadLetterPath: path.join(dataDir, "dead-letters") }
    })),
  clickhouse: (e) => build((e as ClickHouse).ClickHouseClient.layer({ url: Redacted.make(`http://${nowhere}`), connectTimeout: "1 second" })),
  postgres: (e) => build((e as Postgres).PostgresClient.layer({ url: Redacted.make(`postgres://llmtrace@${nowhere}/llmtrace`), connectTimeout: "1 second" })),
  sqlite: (e) => build((e as Sqlite).SqliteClient.memory),
  redis: (e) => build((e as Redis).RedisClient.layer({ url: Redacted.make(`redis://${nowhere}`), connectTimeout: "1 second" }))
}

const entry: unknown = await import(pathToFileURL(entryFile).href)
if (name !== undefined) {
  const run = cases[name]
  if (run === undefined) throw new Error(`no case ${name}`)
  await Effect.runPromise(run(entry))
}
rmSync(dataDir, { recursive: true, force: true })
