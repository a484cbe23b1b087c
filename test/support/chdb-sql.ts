// Runs each statement given on the command line on the embedded engine in a data directory, in a
// process of its own (one process per data directory): a test changes a lite store's tables with it.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient } from "../../src/clickhouse/index.js"

const [dir, ...statements] = process.argv.slice(2)
if (dir === undefined) throw new Error("usage: chdb-sql.ts <dir> <statement>...")

Effect.scoped(Effect.gen(function*() {
  const client = yield* ClickHouseClient.make({ url: Redacted.make(`chdb:${dir}`) })
  for (const statement of statements) yield* client.command("test.chdb-sql", statement)
})).pipe(Effect.runPromise).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
