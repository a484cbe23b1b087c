// Opens the embedded engine on a directory in its own process, prints "open <pid>" and keeps it open until
// its standard input closes: the other process of "one process per data directory".
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { ClickHouseClient } from "../../src/clickhouse/index.js"

const [dir] = process.argv.slice(2)
if (dir === undefined) throw new Error("usage: chdb-holder.ts <dir>")

const stdinClosed = Effect.async<void>((resume) => {
  process.stdin.resume()
  process.stdin.on("end", () => resume(Effect.void))
})

Effect.scoped(Effect.gen(function*() {
  yield* ClickHouseClient.make({ url: Redacted.make(`chdb:${dir}`) })
  console.log(`open ${process.pid}`)
  yield* stdinClosed
})).pipe(Effect.runPromise).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
