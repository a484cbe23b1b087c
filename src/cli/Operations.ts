import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as DeadLetters from "../ingest/DeadLetters.js"
import * as TraceWriter from "../ingest/TraceWriter.js"
import * as Schema from "effect/Schema"
import { TenantId } from "../domain/Ids.js"
import * as MetadataRepository from "../MetadataRepository.js"
import * as StorageMigrations from "../StorageMigrations.js"
import * as StorageProfile from "../StorageProfile.js"
import type { StorageError } from "../StorageError.js"
import { BadLines } from "./Errors.js"
import { CommandFailed } from "./Commands.js"
import * as Ingest from "./Ingest.js"
import { migrations, options, storage, storageWith } from "./Storage.js"
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
      // The column of other changes (a TTL) only when a backend has one, so the usual table stays narrow.
      const changes = reports.some((r) => r.status.changes.length > 0)
      yield* Console.log(render(reports.map(({ ran, status }) => ({
        backend: status.backend,
        target: status.target,
        ...(ran === undefined ? { applied: names(status.applied) } : { ran: names(ran) }),
        pending: names(status.pending),
        ...(changes ? { changes: names(status.changes) } : {})
      }))))
    })
).pipe(Command.withDescription("apply pending schema migrations of every backend (or show them with --dry-run)"), Command.provide(migrations))

/**
 * Progress on standard error while `c` grows: a bar redrawn every 100 ms on a terminal, a plain
 * line every 5 s otherwise (and a last one at the end). Measured against the input's size when known.
 */
const progress = (c: Ingest.Counters, size: Option.Option<number>) => {
  const tty = process.stderr.isTTY === true
  let drawn = false
  const report = Effect.sync(() => {
    const pct = Option.map(size, (total) => (total === 0 ? 100 : Math.min(100, Math.floor((c.bytes / total) * 100))))
    const lines = `${c.lines.toLocaleString("en-US")} lines`
    if (tty) {
      const width = 30
      const filled = Math.round((Option.getOrElse(pct, () => 0) / 100) * width)
      const bar = Option.isSome(pct) ? `[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(pct.value).padStart(3)}%  ` : ""
      process.stderr.write(`\r${bar}${lines}`)
      drawn = true
    } else {
      process.stderr.write(`progress: ${Option.isSome(pct) ? `${pct.value}% (${lines})` : lines}\n`)
    }
  })
  return {
    /** Runs until interrupted. */
    run: Effect.forever(Effect.zipRight(Effect.sleep(tty ? "100 millis" : "5 seconds"), report)),
    /** The last report, and the end of the bar's line so that what follows starts on its own line. */
    end: Effect.zipRight(report, Effect.sync(() => drawn && process.stderr.write("\n")))
  }
}

/** Whether the configured profile runs the embedded ClickHouse engine in this process (see {@link Ingest.spooled}). */
const embedsClickHouse = (o: StorageProfile.Options) =>
  o.profile === "lite" || (o.profile === "production" && Redacted.value(o.clickhouse.url).startsWith("chdb:"))

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

/** The tenant of an otlp file: OTLP carries none, so the command line names it. */
const otlpTenant = (tenant: Option.Option<string>) =>
  Option.match(tenant, {
    onNone: () => Effect.fail(new CommandFailed({ message: "--format otlp needs --tenant <id>: OTLP spans carry no tenant" })),
    onSome: (raw) =>
      Schema.decodeUnknown(TenantId)(raw).pipe(Effect.mapError(() => new CommandFailed({ message: `not a tenant id (a UUID): ${JSON.stringify(raw)}` })))
  })

export const ingest = Command.make(
  "ingest",
  {
    file: Args.text({ name: "FILE" }).pipe(Args.withDescription("a JSON Lines file, or - for standard input; gzip is recognised by its first bytes")),
    allowBadLines: Options.boolean("allow-bad-lines").pipe(Options.withDescription("exit 0 when lines were bad or refused (they are still reported)")),
    knownTenantsOnly: Options.boolean("known-tenants-only").pipe(Options.withDescription("refuse lines with spans of a tenant the metadata store does not know")),
    maxLineBytes: Options.integer("max-line-bytes").pipe(
      Options.withDescription("a longer line is reported with its number and skipped, never held whole (maxLineBytes)"),
      Options.withDefault(Ingest.defaultMaxLineBytes),
      Options.mapEffect((n) => (n >= 1 ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p("--max-line-bytes must be at least 1")))))
    ),
    format: Options.choice("format", ["jsonl", "otlp"]).pipe(
      Options.withDescription("jsonl: our spans and traces; otlp: the OpenTelemetry Collector file exporter's lines (needs --tenant)"),
      Options.withDefault("jsonl")
    ),
    tenant: Options.text("tenant").pipe(Options.withDescription("the tenant (a UUID) the spans of an otlp file belong to"), Options.optional)
  },
  ({ allowBadLines, file, format, knownTenantsOnly, maxLineBytes, tenant }) =>
    Effect.gen(function*() {
      const parse = format === "otlp" ? Ingest.parseOtlpLine(yield* otlpTenant(tenant)) : undefined
      // The input is checked before the storage starts: a missing file is one line at once.
      const opened = yield* Ingest.open(file)
      const input = file === "-" && embedsClickHouse(yield* options)
        ? yield* Ingest.spooled(opened).pipe(
          Effect.onInterrupt(() => Console.error("interrupted while reading standard input: nothing stored"))
        )
        : opened
      yield* Effect.gen(function*() {
        const writer = yield* TraceWriter.TraceWriter
        const metadata = yield* MetadataRepository.MetadataRepository
        const started = Date.now()
        const c = Ingest.counters()
        // The writer's own count: exact even for a batch a signal interrupted half taken.
        const acceptedBefore = (yield* writer.stats).accepted
        const bar = progress(c, input.size)
        yield* Effect.forkScoped(bar.run)
        yield* Ingest.ingest<CommandFailed, StorageError | TraceWriter.WriterClosed, never>(
          Ingest.lines(input, (consumed) => (c.bytes = consumed), maxLineBytes),
          {
            spans: writer.writeAll,
            // The trace's own record keeps its createdAt (and a trace with no spans exists at all); it
            // is buffered and stored in batches like the spans, which follow it to `span`.
            trace: (trace) => writer.writeTrace({ ...trace, spans: [] }),
            badLine: (line, reason) => Console.error(`line ${line}: ${reason} (skipped)`),
            tenantKnown: (id) => Effect.map(metadata.getTenant(id as TenantId), Option.isSome)
          },
          { knownTenantsOnly, maxLineBytes, parse },
          c
        ).pipe(
          // Ctrl-C or SIGTERM: reading stops, what was accepted is stored, and the operator is told how far it got.
          Effect.onInterrupt(() =>
            Effect.gen(function*() {
              c.spans = (yield* writer.stats).accepted - acceptedBefore
              yield* bar.end
              const flushed = yield* Effect.either(writer.flush)
              yield* Console.error(
                flushed._tag === "Right"
                  ? `interrupted at line ${c.lines}: ${plural(c.spans, "span")} stored`
                  : `interrupted at line ${c.lines}: ${plural(c.spans, "span")} accepted, not all stored yet: ${flushed.left.message}`
              )
            })
          )
        )
        const before = yield* writer.stats
        yield* writer.flush
        yield* bar.end
        const after = yield* writer.stats
        const notStored = after.deadLettered + after.lost - before.deadLettered - before.lost
        const recordsNotStored = after.tracesDeadLettered - before.tracesDeadLettered
        const tracesLost = after.tracesLost - before.tracesLost
        if (tracesLost > 0) {
          return yield* new CommandFailed({
            message: `${plural(tracesLost, "trace record")} (createdAt of a trace line) could not be stored: see the log above, which lists them`
          })
        }
        // Accepted is not stored: what the engine refused or could not take went to the dead letters,
        // and saying "ingested" with exit 0 would hide it.
        if (notStored + recordsNotStored > 0) {
          const what = recordsNotStored === 0 ? plural(notStored, "span") : `${plural(notStored, "span")} and ${plural(recordsNotStored, "trace record")}`
          return yield* new CommandFailed({
            message: `${what} could not be stored and went to the dead letters in ${
              StorageProfile.deadLetterPath(yield* options)
            } (see the log above; \`llmtrace-storage replay-dead-letters\` stores them once the engine is back, \`--failed\` those it refused once the cause is fixed)`
          })
        }
        const seconds = (Date.now() - started) / 1000
        const refused = c.refused > 0 ? `; ${plural(c.refused, "line")} of unknown tenants refused` : ""
        yield* Console.log(
          `ingested ${plural(c.spans, "span")}${c.traces > 0 ? ` (${plural(c.traces, "whole trace")})` : ""} from ${plural(c.lines, "line")} in ${seconds.toFixed(1)} s; ${plural(c.bad, "bad line")} skipped${refused}`
        )
        if (c.unknownTenants.size > 0) {
          const list = [...c.unknownTenants].map(([id, n]) => `${id} (${plural(n, "span")})`).join(", ")
          yield* Console.log(`tenants the metadata store does not know${knownTenantsOnly ? " (refused)" : ""}: ${list}`)
        }
        const rejected = c.bad + c.refused
        if (rejected > 0 && !allowBadLines) {
          return yield* new BadLines({ message: `${plural(rejected, "line")} not stored (exit code ${BadLines.exitCode}; --allow-bad-lines accepts them)` })
        }
      }).pipe(Effect.scoped, Effect.provide(storage))
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "store spans or whole traces from a JSON Lines file or standard input (one object per line); bad lines are reported and skipped"
  )
)

export const replayDeadLetters = Command.make(
  "replay-dead-letters",
  {
    dir: Options.directory("dir").pipe(Options.optional, Options.withDescription("the dead-letter directory (default: the profile's)")),
    failed: Options.boolean("failed").pipe(Options.withDescription("replay the spans the engine refused before (DIR/failed), once the cause is fixed"))
  },
  ({ dir, failed }) =>
    Effect.gen(function*() {
      const path = dir._tag === "Some" ? dir.value : StorageProfile.deadLetterPath(yield* options)
      if (path === undefined) return yield* Console.log("nothing to replay: the memory profile keeps its dead letters in memory (give --dir to replay a directory)")
      const waiting = yield* DeadLetters.pending(path)
      const count = failed ? waiting.failed : waiting.segments
      if (count === 0) return yield* Console.log(`nothing to replay: no ${failed ? "refused " : ""}dead letters in ${path}`)
      const result = yield* TraceWriter.replayDeadLetters(path, { failed })
      yield* Console.log(
        `replayed ${plural(result.replayed, "dead-lettered span")}${result.tracesReplayed > 0 ? ` and ${plural(result.tracesReplayed, "trace record")}` : ""} from ${path}` +
          (result.rejected > 0 ? `; ${plural(result.rejected, "invalid line")} kept in ${DeadLetters.rejectedDir(path)}` : "") +
          (result.failed > 0 ? `; ${plural(result.failed, "span")} still refused, moved to ${DeadLetters.failedDir(path)}` : "")
      )
    })
).pipe(
  Command.withDescription(
    "store the dead letters again, now that the engine is back (--failed: those the engine refused, once the cause is fixed); other processes may append and replay at the same time"
  ),
  // Replaying at start would store the same file twice: the command replays it itself.
  Command.provide(storageWith((o) => (o.profile === "memory" ? o : { ...o, writer: { ...o.writer, replayOnStart: false } })))
)
