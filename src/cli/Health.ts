import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as StorageProfile from "../StorageProfile.js"
import type * as StorageMigrations from "../StorageMigrations.js"
import { CommandFailed, json } from "./Commands.js"
import { describeCause } from "./Errors.js"
import { options } from "./Storage.js"
import { render } from "./Table.js"

/** What `health` says of one service. */
interface Report {
  readonly service: string
  readonly backend: string
  readonly healthy: boolean
  readonly latencyMs: number
  /** The schema as its database records it (none for a store without one, or when it could not be read). */
  readonly schema: StorageMigrations.MigrationStatus | null
  readonly error: string | null
}

/** Opens one service on its own and checks it; never fails: a failure is the report's `error`. */
const check = (probe: StorageProfile.ServiceProbe): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const opened = yield* probe.open
    const [elapsed] = yield* Effect.timed(opened.healthCheck)
    const schema = opened.schema === undefined ? null : yield* opened.schema
    return { service: probe.service, backend: probe.backend, healthy: true, latencyMs: Math.round(Duration.toMillis(elapsed)), schema, error: null }
  }).pipe(
    Effect.scoped,
    Effect.catchAllCause((cause) =>
      Effect.succeed<Report>({ service: probe.service, backend: probe.backend, healthy: false, latencyMs: 0, schema: null, error: describeCause(cause) })
    )
  )

const schemaText = (s: StorageMigrations.MigrationStatus | null) =>
  s === null
    ? "-"
    : s.pending.length > 0
    ? `${s.pending.length} pending: run migrate`
    : s.changes.length > 0
    ? "TTL differs: run migrate"
    : "current"

/** Every backend of the profile, each opened on its own and concurrently; writes no schema. Exit 1 when one is down. */
export const health = Command.make("health", { json }, ({ json }) =>
  Effect.gen(function*() {
    const reports = yield* Effect.forEach(StorageProfile.probes(yield* options), check, { concurrency: "unbounded" })
    yield* json
      ? Console.log(reports.map((r) => JSON.stringify(r)).join("\n"))
      : Console.log(render(reports.map((r) => ({
        service: r.service,
        backend: r.backend,
        status: r.healthy ? "ok" : "DOWN",
        ms: r.healthy ? r.latencyMs : "",
        schema: schemaText(r.schema),
        detail: r.error ?? ""
      }))))
    const down = reports.filter((r) => !r.healthy).map((r) => `${r.service} (${r.backend})`)
    if (down.length > 0) return yield* new CommandFailed({ message: `down: ${down.join(", ")}` })
  })
).pipe(Command.withDescription("check every backend on its own (status, latency, schema); writes nothing; exits 1 if one is down"))
