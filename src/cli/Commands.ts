import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as Prompt from "@effect/cli/Prompt"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { isatty } from "node:tty"
import { TenantId } from "../domain/Ids.js"
import { TraceQuery } from "../domain/Query.js"
import * as SpanFilters from "../domain/SpanFilters.js"
import { apiTokenPrefix, NewTenant, Tenant } from "../domain/Tenant.js"
import * as MetadataRepository from "../MetadataRepository.js"
import * as TraceRepository from "../TraceRepository.js"
import { readOnlyStorage, storage } from "./Storage.js"
import { clip, render } from "./Table.js"

/** An expected failure of a command, reported as one line. */
export class CommandFailed extends Data.TaggedError("CommandFailed")<{ readonly message: string }> {}

/** A tenant id from the command line; a bad one is a one-line error, not a schema dump. */
const tenantId = (raw: string) =>
  Schema.decodeUnknown(TenantId)(raw).pipe(Effect.mapError(() => new CommandFailed({ message: `not a tenant id (a UUID): ${JSON.stringify(raw)}` })))

/**
 * `--tenant`: a UUID is the id itself (traces of a tenant the metadata store does not know are
 * reachable too); anything else is a name, which must name exactly one tenant.
 */
const resolveTenant = (raw: string) =>
  Schema.is(TenantId)(raw)
    ? Effect.succeed(raw)
    : Effect.gen(function*() {
      const named = (yield* (yield* MetadataRepository.MetadataRepository).listTenants()).filter((t) => t.name === raw)
      if (named.length === 1) return named[0]!.id
      return yield* new CommandFailed({
        message: named.length === 0
          ? `no tenant named ${JSON.stringify(raw)} (give its name or its id: see \`tenants list\`)`
          : `${named.length} tenants are named ${JSON.stringify(raw)}: give one of their ids: ${named.map((t) => t.id).join(", ")}`
      })
    })

const tenantOption = Options.text("tenant").pipe(Options.withDescription("the tenant's name or id (a UUID)"))
/**
 * An ISO 8601 date or date-time; without a time zone it is UTC (`2026-01-02`, `2026-01-02T10:00`),
 * unlike `Options.date`, which reads a date-time without a zone in the machine's local time.
 */
const utcDate = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(`${description}: an ISO 8601 date or date-time, UTC unless it has a zone (Z, +02:00)`),
    Options.mapEffect((raw) => {
      const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(raw) || !raw.includes("T")
      const date = new Date(zoned ? raw : `${raw}Z`)
      return /^\d{4}-\d{2}-\d{2}/.test(raw) && !Number.isNaN(date.getTime())
        ? Effect.succeed(date)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: not an ISO 8601 date: ${JSON.stringify(raw)}`)))
    })
  )

export const json = Options.boolean("json").pipe(Options.withDescription("print JSON lines instead of a table"))

const statsRow = (name: string, s: { totalTraces: number; totalSpans: number; storageSizeBytes: number; oldestTrace?: Date | undefined; newestTrace?: Date | undefined }) => ({
  tenant: name,
  traces: s.totalTraces,
  spans: s.totalSpans,
  bytes: s.storageSizeBytes,
  oldest: s.oldestTrace,
  newest: s.newestTrace
})

export const stats = Command.make("stats", { tenant: tenantOption.pipe(Options.optional) }, ({ tenant }) =>
  Effect.gen(function*() {
    const traces = yield* TraceRepository.TraceRepository
    const metadata = yield* MetadataRepository.MetadataRepository
    if (Option.isSome(tenant)) {
      return yield* Console.log(render([statsRow(tenant.value, yield* traces.getStats(yield* resolveTenant(tenant.value)))]))
    }
    const tenants = yield* metadata.listTenants()
    const rows = yield* Effect.forEach(tenants, (t) => Effect.map(traces.getStats(t.id), (s) => statsRow(t.name, s)))
    yield* Console.log(render([...rows, statsRow("(all tenants)", yield* traces.getGlobalStats())]))
  })
).pipe(Command.withDescription("traces, spans and bytes per tenant (or of one tenant)"), Command.provide(readOnlyStorage))

/** A CLI flag for each span filter, named and described by the filter table. */
const flagOf = (flag: SpanFilters.Flag): Options.Options<Option.Option<unknown>> => {
  switch (flag.kind) {
    case "text":
      return Options.text(flag.name).pipe(Options.withDescription(flag.description), Options.optional)
    case "integer":
      return Options.integer(flag.name).pipe(Options.withDescription(flag.description), Options.optional)
    case "keyValue":
      // Read as text and parsed by the command, so a bad pair is refused naming the option.
      return Options.text(flag.name).pipe(
        Options.withDescription(flag.description),
        Options.repeated,
        Options.map((pairs) => (pairs.length === 0 ? Option.none() : Option.some<unknown>(pairs)))
      )
  }
}

const filterOptions = Options.all(
  Object.fromEntries(SpanFilters.names.map((name) => [name, flagOf(SpanFilters.table[name].flag)]))
)

const queryOptions = {
  tenant: tenantOption,
  filters: filterOptions,
  traceId: Options.text("trace-id").pipe(Options.optional),
  since: utcDate("since", "spans that started at or after this time").pipe(Options.optional),
  until: utcDate("until", "spans that started at or before this time").pipe(Options.optional),
  limit: Options.integer("limit").pipe(Options.withDefault(20)),
  offset: Options.integer("offset").pipe(Options.withDefault(0)),
  traces: Options.boolean("traces").pipe(Options.withDescription("list whole traces instead of spans")),
  json
}

/** The query's fields as the options that set them. */
const optionOf: Record<string, string> = {
  ...Object.fromEntries(SpanFilters.names.map((name) => [name, `--${SpanFilters.table[name].flag.name}`])),
  traceId: "--trace-id",
  startTime: "--since",
  endTime: "--until",
  limit: "--limit",
  offset: "--offset"
}

/** The first problem of a query, named by its option (an optional field's "or undefined" alternative is not news). */
const invalidQuery = (error: ParseError) => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const field = issue?.path[0]
  const option = field === undefined ? undefined : optionOf[String(field)] ?? String(field)
  return new CommandFailed({ message: `invalid query: ${option === undefined ? "" : `${option}: `}${issue?.message ?? error.message}` })
}

/** `--<flag> key=value`, repeatable; anything else is refused naming the option. */
const parseKeyValues = (flag: string, raw: ReadonlyArray<string>) =>
  Effect.forEach(raw, (kv) => {
    const at = kv.indexOf("=")
    return at <= 0
      ? Effect.fail(new CommandFailed({ message: `--${flag} expects key=value, got ${JSON.stringify(kv)}` }))
      : Effect.succeed([kv.slice(0, at), kv.slice(at + 1)] as const)
  }).pipe(Effect.map((pairs) => Object.fromEntries(pairs)))

/** The span filters given on the command line, as TraceQuery fields. */
const filtersOf = (given: Record<string, Option.Option<unknown>>) =>
  Effect.map(
    Effect.forEach(SpanFilters.names, (name) => {
      const value = given[name] ?? Option.none()
      if (Option.isNone(value)) return Effect.succeed([])
      const flag = SpanFilters.table[name].flag
      return flag.kind === "keyValue"
        ? Effect.map(parseKeyValues(flag.name, value.value as ReadonlyArray<string>), (v) => [[name, v] as const])
        : Effect.succeed([[name, value.value] as const])
    }),
    (entries) => Object.fromEntries(entries.flat())
  )

export const query = Command.make("query", queryOptions, (o) =>
  Effect.gen(function*() {
    const repo = yield* TraceRepository.TraceRepository
    const q = yield* Schema.decodeUnknown(TraceQuery)({
      tenantId: yield* resolveTenant(o.tenant),
      ...(yield* filtersOf(o.filters)),
      ...Option.match(o.traceId, { onNone: () => ({}), onSome: (traceId) => ({ traceId }) }),
      ...Option.match(o.since, { onNone: () => ({}), onSome: (d) => ({ startTime: d.toISOString() }) }),
      ...Option.match(o.until, { onNone: () => ({}), onSome: (d) => ({ endTime: d.toISOString() }) }),
      limit: o.limit,
      offset: o.offset
    })
    if (o.traces) {
      const found = yield* repo.queryTraces(q)
      if (o.json) return yield* Effect.forEach(found, (t) => Console.log(JSON.stringify(t)), { discard: true })
      return yield* Console.log(render(found.map((t) => ({ trace: t.traceId, created: t.createdAt, spans: t.spans.length, "max score": Math.max(-1, ...t.spans.map((s) => s.securityScore ?? -1)) }))))
    }
    const spans = yield* repo.querySpans(q)
    if (o.json) return yield* Effect.forEach(spans, (s) => Console.log(JSON.stringify(s)), { discard: true })
    yield* Console.log(render(spans.map((s) => ({ start: s.startTime, provider: s.provider, model: s.modelName, operation: s.operationName, score: s.securityScore, "ms": s.durationMs, prompt: clip(s.prompt, 50) }))))
  }).pipe(Effect.mapError((e) => (e._tag === "ParseError" ? invalidQuery(e) : e)))
).pipe(Command.withDescription("spans (or --traces) of one tenant, newest first, with filters"), Command.provide(readOnlyStorage))

/** How many of a tenant's traces were created before a date, counted a page at a time (the query's largest). */
const countBefore = (tenantId: TenantId, before: Date) =>
  Effect.gen(function*() {
    const repo = yield* TraceRepository.TraceRepository
    const page = 10_000
    let counted = 0
    for (;;) {
      const found = yield* repo.queryTraces(TraceQuery.make({ tenantId, endTime: new Date(before.getTime() - 1), limit: page, offset: counted }))
      counted += found.length
      if (found.length < page) return counted
    }
  })

const confirm = (question: string) =>
  isatty(0)
    ? Prompt.confirm({ message: question, initial: false }).pipe(Effect.catchAll(() => Effect.succeed(false)))
    : Effect.fail(new CommandFailed({ message: "purge deletes data: pass --yes to confirm it without a terminal (or --dry-run to see what would go)" }))

export const purge = Command.make(
  "purge",
  {
    tenant: tenantOption,
    before: utcDate("before", "delete traces created before this time"),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription("print what would be deleted; delete nothing")),
    yes: Options.boolean("yes").pipe(Options.withDescription("do not ask for confirmation (scripts)"))
  },
  ({ before, dryRun, tenant, yes }) =>
    Effect.gen(function*() {
      const repo = yield* TraceRepository.TraceRepository
      const id = yield* resolveTenant(tenant)
      const what = `of ${tenant === id ? id : `${tenant} (${id})`} created before ${before.toISOString()}`
      if (dryRun || !yes) {
        const count = yield* countBefore(id, before)
        if (dryRun) return yield* Console.log(`would delete ${count} trace${count === 1 ? "" : "s"} ${what} (dry run: nothing deleted)`)
        if (count === 0) return yield* Console.log(`nothing to delete: no trace ${what}`)
        if (!(yield* confirm(`Delete ${count} trace${count === 1 ? "" : "s"} ${what} with their spans?`))) {
          return yield* Console.log("nothing deleted")
        }
      }
      const deleted = yield* repo.deleteTracesBefore(id, before)
      yield* Console.log(`deleted ${deleted} trace${deleted === 1 ? "" : "s"} ${what}`)
    })
).pipe(
  Command.withDescription("delete a tenant's traces (and their spans) created before a time; asks first on a terminal (--yes: do not)"),
  Command.provide(storage)
)

const tenantsList = Command.make("list", { json }, ({ json }) =>
  Effect.gen(function*() {
    const tenants = yield* (yield* MetadataRepository.MetadataRepository).listTenants()
    // The token's prefix only: neither the token (never stored) nor its hash leaves the command.
    const shown = (t: Tenant) => {
      const { apiTokenHash: _hash, ...rest } = Schema.encodeSync(Tenant)(t)
      return rest
    }
    if (json) return yield* Effect.forEach(tenants, (t) => Console.log(JSON.stringify(shown(t))), { discard: true })
    yield* Console.log(render(tenants.map((t) => ({ id: t.id, name: clip(t.name, 40), plan: t.plan, token: `${t.apiTokenPrefix}…`, created: t.createdAt }))))
  })
).pipe(Command.withDescription("every tenant, oldest first"), Command.provide(readOnlyStorage))

const tenantsCreate = Command.make(
  "create",
  {
    name: Options.text("name"),
    plan: Options.text("plan").pipe(Options.withDefault("free")),
    token: Options.text("token").pipe(Options.optional, Options.withDescription("the tenant's API token (default: a random one)")),
    allowDuplicateName: Options.boolean("allow-duplicate-name").pipe(Options.withDescription("create it even when a tenant has this name already"))
  },
  ({ allowDuplicateName, name, plan, token }) =>
    Effect.gen(function*() {
      if (name.trim() === "") return yield* new CommandFailed({ message: "--name must not be empty" })
      // Checked by the command, not the store: names are not unique in the schema (two processes
      // creating one name at the same instant can both succeed).
      const same = (yield* (yield* MetadataRepository.MetadataRepository).listTenants()).filter((t) => t.name === name)
      if (same.length > 0 && !allowDuplicateName) {
        return yield* new CommandFailed({
          message: `a tenant named ${JSON.stringify(name)} exists already (${same.map((t) => t.id).join(", ")}): --allow-duplicate-name creates another`
        })
      }
      const tenant = NewTenant.make({ name, plan, apiToken: Option.getOrElse(token, () => `llmt_${randomBytes(18).toString("base64url")}`) })
      yield* (yield* MetadataRepository.MetadataRepository).createTenant(tenant)
      // The one time a token is printed: one the command generated, which nobody else knows. A token
      // given with --token is the caller's already, and is not echoed back.
      const shown = Option.isNone(token) ? tenant.apiToken : `${apiTokenPrefix(tenant.apiToken)}… (as given)`
      yield* Console.log(render([{ id: tenant.id, name: tenant.name, plan: tenant.plan, token: shown }]))
    })
).pipe(
  Command.withDescription("create a tenant; prints its id and, once, the API token it generated (it is stored only as a hash)"),
  Command.provide(storage)
)

const tenantsDelete = Command.make("delete", { id: Args.text({ name: "id" }) }, ({ id }) =>
  Effect.gen(function*() {
    const deleted = yield* (yield* MetadataRepository.MetadataRepository).deleteTenant(yield* tenantId(id))
    if (Option.isNone(deleted)) return yield* new CommandFailed({ message: `no tenant ${id}` })
    yield* Console.log(`deleted tenant ${id} with its config, audit events, API keys and reports`)
  })
).pipe(Command.withDescription("delete a tenant and everything it owns (its traces stay: purge them first)"), Command.provide(storage))

export const tenants = Command.make("tenants").pipe(
  Command.withDescription("list, create or delete tenants"),
  Command.withSubcommands([tenantsList, tenantsCreate, tenantsDelete])
)
