import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as TraceWriter from "../clickhouse/TraceWriter.js"
import * as StorageMigrations from "../StorageMigrations.js"
import * as StorageProfile from "../StorageProfile.js"
import * as TraceRepository from "../TraceRepository.js"
import * as Ingest from "./Ingest.js"
import { config, migrations, storage, storageWith } from "./Storage.js"
import { render } from "./Table.js"

const names = (list: ReadonlyArray<string>) => (list.length === 0 ? "(none)" : list.join(", "))

export const migrate = Command.make(
  "migrate",
  {
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("show what is applied and pending on each backend; change nothing")),
    json: Options.boolean("json").pipe(Options.withDescription("one JSON object per backend and line: backend, target, applied, pending (and ran)"))
  },
  ({ dryRun, json }) =>
    Effect.gen(function*() {
      const backends = yield* StorageMigrations.StorageMigrations
      if (backends.length === 0) return yield* json ? Effect.void : Console.log("the memory profile has no schema to migrate")
      // Each status is read after the run, from the database: what it says is what the next process finds.
      const reports = yield* Effect.forEach(backends, (b) =>
        Effect.flatMap(dryRun ? Effect.succeed(undefined) : b.run, (ran) => Effect.map(b.status, (status) => ({ status, ran }))))
      if (json) return yield* Console.log(reports.map((r) => JSON.stringify(r.ran === undefined ? r.status : { ...r.status, ran: r.ran })).join("\n"))
      yield* Console.log(render(reports.map(({ ran, status }) => ({
        backend: status.backend,
        target: status.target,
        ...(ran === undefined ? { applied: names(status.applied) } : { ran: names(ran) }),
        pending: names(status.pending)
      }))))
    })
).pipe(Command.withDescription("apply pending schema migrations of every backend (or show them with --dry-run)"), Command.provide(migrations))

const progressReporter = () => {
  const tty = process.stderr.isTTY === true
  let last = 0
  return (bytes: number, total: number, lines: number) =>
    Effect.sync(() => {
      const now = Date.now()
      const done = bytes >= total
      if (!done && now - last < (tty ? 100 : 5000)) return
      last = now
      const pct = total === 0 ? 100 : Math.min(100, Math.floor((bytes / total) * 100))
      if (tty) {
        const width = 30
        const filled = Math.round((pct / 100) * width)
        process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(pct).padStart(3)}%  ${lines.toLocaleString("en-US")} lines${done ? "\n" : ""}`)
      } else {
        process.stderr.write(`progress: ${pct}% (${lines} lines)\n`)
      }
    })
}

export const ingest = Command.make(
  "ingest",
  { file: Args.file({ name: "FILE.jsonl", exists: "yes" }) },
  ({ file }) =>
    Effect.gen(function*() {
      const writer = yield* TraceWriter.TraceWriter
      const repo = yield* TraceRepository.TraceRepository
      const started = Date.now()
      const summary = yield* Ingest.ingestFile(file, {
        span: writer.write,
        // The trace's own record keeps its createdAt (and a trace with no spans exists at all).
        trace: (trace) => repo.storeTrace({ ...trace, spans: [] }),
        badLine: (line, reason) => Console.error(`line ${line}: ${reason} (skipped)`),
        progress: progressReporter()
      })
      yield* writer.flush
      const seconds = (Date.now() - started) / 1000
      yield* Console.log(
        `ingested ${summary.spans} span${summary.spans === 1 ? "" : "s"}${summary.traces > 0 ? ` (${summary.traces} whole trace${summary.traces === 1 ? "" : "s"})` : ""} from ${summary.lines} lines in ${seconds.toFixed(1)} s; ${summary.bad} bad line${summary.bad === 1 ? "" : "s"} skipped`
      )
    })
).pipe(
  Command.withDescription("store spans or whole traces from a JSON Lines file (one object per line); bad lines are reported and skipped"),
  Command.provide(storage)
)

export const replayDeadLetters = Command.make(
  "replay-dead-letters",
  { file: Options.file("file").pipe(Options.optional, Options.withDescription("the dead-letter file (default: the profile's)")) },
  ({ file }) =>
    Effect.gen(function*() {
      const path = file._tag === "Some" ? file.value : yield* config(StorageProfile.deadLetterPath)
      const result = yield* TraceWriter.replayDeadLetters(path)
      yield* Console.log(`replayed ${result.replayed} dead-lettered span${result.replayed === 1 ? "" : "s"} from ${path}${result.rejected > 0 ? `; ${result.rejected} invalid lines kept in ${path}.rejected` : ""}`)
    })
).pipe(
  Command.withDescription("store the spans of the dead-letter file again, now that the engine is back"),
  Command.provide(storageWith({ LLMTRACE_TRACE_WRITER_REPLAY_ON_START: "false" }))
)
