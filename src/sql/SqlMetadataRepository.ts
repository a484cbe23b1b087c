import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ApiKeyRecord } from "../domain/ApiKey.js"
import type { AuditEvent } from "../domain/Audit.js"
import type { TenantId } from "../domain/Ids.js"
import type { JsonObject } from "../domain/Primitives.js"
import type { ComplianceReport } from "../domain/Report.js"
import { apiTokenPrefix, hashApiToken, type Tenant, type TenantConfig } from "../domain/Tenant.js"
import * as ConfigFields from "../internal/ConfigFields.js"
import * as MetadataRepository from "../MetadataRepository.js"
import { StorageConflict, StorageNotFound, type StorageQueryError, type StorageUnavailable } from "../StorageError.js"
import * as Migrations from "../internal/sql/Migrations.js"
import { type Dialect, make as makeDialect, readOptionalNumber, readOptionalTimestamp, readTimestamp } from "../internal/sql/Dialect.js"
import { classify } from "../internal/sql/SqlErrors.js"

type Row = Record<string, unknown>

const present = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** Row mappers for one dialect: text and JSON columns are read back through it. */
const rows = (d: Dialect) => {
  const text = d.readText
  const optText = (v: unknown) => (v === null || v === undefined ? undefined : text(v))
  return {
    tenant: (r: Row): Tenant => ({
      id: r.id as TenantId,
      name: text(r.name),
      apiTokenHash: r.api_token_hash as string,
      apiTokenPrefix: text(r.api_token_prefix ?? ""),
      plan: text(r.plan),
      createdAt: readTimestamp(r.created_at),
      config: d.readJson<JsonObject>(r.config)
    }),
    config: (r: Row): TenantConfig => ({
      tenantId: r.tenant_id as TenantId,
      securityThresholds: d.readJson(r.security_thresholds),
      featureFlags: d.readJson(r.feature_flags),
      monitoringScope: r.monitoring_scope as TenantConfig["monitoringScope"],
      ...present("rateLimitRpm", readOptionalNumber(r.rate_limit_rpm)),
      ...present("monthlyBudget", readOptionalNumber(r.monthly_budget))
    }),
    audit: (r: Row): AuditEvent => ({
      id: r.id as string,
      tenantId: r.tenant_id as TenantId,
      eventType: text(r.event_type),
      actor: text(r.actor),
      resource: text(r.resource),
      data: d.readJson<JsonObject>(r.data),
      timestamp: readTimestamp(r.timestamp)
    }),
    apiKey: (r: Row): ApiKeyRecord => ({
      id: r.id as string,
      tenantId: r.tenant_id as TenantId,
      name: text(r.name),
      keyHash: r.key_hash as string,
      keyPrefix: text(r.key_prefix),
      role: r.role as ApiKeyRecord["role"],
      createdAt: readTimestamp(r.created_at),
      ...present("revokedAt", readOptionalTimestamp(r.revoked_at))
    }),
    report: (r: Row): ComplianceReport => ({
      id: r.id as string,
      tenantId: r.tenant_id as TenantId,
      reportType: text(r.report_type),
      status: r.status as ComplianceReport["status"],
      periodStart: readTimestamp(r.period_start),
      periodEnd: readTimestamp(r.period_end),
      createdAt: readTimestamp(r.created_at),
      ...present("completedAt", readOptionalTimestamp(r.completed_at)),
      ...present("content", r.content === null || r.content === undefined ? undefined : d.readJson<JsonObject>(r.content)),
      ...present("error", optText(r.error))
    })
  }
}

/**
 * The metadata repository over any `SqlClient`: PostgreSQL in production, SQLite in the lite and
 * memory profiles. Dialect differences live in `Dialect.ts`; constraint violations become
 * `StorageConflict` / `StorageNotFound` by the driver's error code (`SqlErrors.ts`).
 */
const build = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const d = yield* makeDialect(sql)
  const backend = d.backend
  const ts = d.timestamp
  const txt = d.text
  const row = rows(d)
  const exec = d.execute
  // Named columns, never `*`: a prepared statement's result type is fixed when it is prepared, so
  // another release's migration adding a column must not change it (a rolling deploy).
  const columns = {
    tenants: sql.literal("id, name, api_token_hash, api_token_prefix, plan, created_at, config"),
    tenantConfigs: sql.literal("tenant_id, security_thresholds, feature_flags, monitoring_scope, rate_limit_rpm, monthly_budget"),
    auditEvents: sql.literal("id, tenant_id, event_type, actor, resource, data, timestamp"),
    apiKeys: sql.literal("id, tenant_id, name, key_hash, key_prefix, role, created_at, revoked_at"),
    reports: sql.literal("id, tenant_id, report_type, status, period_start, period_end, created_at, completed_at, content, error")
  }
  const opt = <A>(value: A | undefined, f: (a: A) => unknown = (a) => a) => (value === undefined ? null : f(value))

  // One failure mapper per method, made once (not per call); one with a parent is made per call.
  const classifiers = new Map<string, ReturnType<typeof classify>>()
  const classifierOf = (method: string) => {
    const known = classifiers.get(method)
    if (known !== undefined) return known
    const made = classify(backend, `MetadataRepository.${method}`)
    classifiers.set(method, made)
    return made
  }
  /** Runs a statement, mapping driver failures; `parent` names the row a foreign key points at. */
  const run = (method: keyof MetadataRepository.MetadataRepositoryShape, parent?: { entity: string; id: string }) => {
    const classified = parent === undefined ? classifierOf(method) : classify(backend, `MetadataRepository.${method}`, parent)
    return <A>(self: Effect.Effect<A, SqlError>) => Effect.mapError(self, classified)
  }
  const tenantParent = (id: string) => ({ entity: "tenant", id })
  const notFound = (method: string, entity: string, id: string) =>
    new StorageNotFound({ backend, operation: `MetadataRepository.${method}`, entity, id, message: `${entity} ${id} does not exist` })

  return MetadataRepository.make(backend, {
    createTenant: (t) =>
      exec(sql`INSERT INTO tenants (id, name, api_token_hash, api_token_prefix, plan, created_at, config)
          VALUES (${t.id}, ${txt(t.name)}, ${hashApiToken(t.apiToken)}, ${txt(apiTokenPrefix(t.apiToken))}, ${txt(t.plan)}, ${ts(t.createdAt)}, ${d.json(t.config)})`).pipe(
        Effect.asVoid,
        run("createTenant")
      ),
    getTenant: (id) =>
      exec(sql`SELECT ${columns.tenants} FROM tenants WHERE id = ${id}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.tenant)),
        run("getTenant")
      ),
    getTenantByToken: (token) =>
      exec(sql`SELECT ${columns.tenants} FROM tenants WHERE api_token_hash = ${hashApiToken(token)}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.tenant)),
        run("getTenantByToken")
      ),
    // Read under the write's lock (PostgreSQL: FOR UPDATE; SQLite: one writer) so the token this
    // update replaces is exactly the one returned, however updates race.
    updateTenant: (t) =>
      sql.withTransaction(
        Effect.flatMap(exec(sql`SELECT ${columns.tenants} FROM tenants WHERE id = ${t.id} ${d.lockRows}`), (found) =>
          found[0] === undefined
            ? Effect.succeed(Option.none())
            : Effect.as(
              exec(sql`UPDATE tenants SET name = ${txt(t.name)}, api_token_hash = ${hashApiToken(t.apiToken)},
                  api_token_prefix = ${txt(apiTokenPrefix(t.apiToken))}, plan = ${txt(t.plan)}, config = ${d.json(t.config)}
                WHERE id = ${t.id}`),
              Option.some(row.tenant(found[0]))
            ))
      ).pipe(
        run("updateTenant"),
        Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound("updateTenant", "tenant", t.id)), onSome: Effect.succeed }))
      ),
    listTenants: () => exec(sql`SELECT ${columns.tenants} FROM tenants ORDER BY created_at, id`).pipe(Effect.map((rows) => rows.map(row.tenant)), run("listTenants")),
    deleteTenant: (id) =>
      exec(sql`DELETE FROM tenants WHERE id = ${id} RETURNING ${columns.tenants}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.tenant)),
        run("deleteTenant")
      ),
    getTenantConfig: (tenantId) =>
      exec(sql`SELECT ${columns.tenantConfigs} FROM tenant_configs WHERE tenant_id = ${tenantId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.config)),
        run("getTenantConfig")
      ),
    upsertTenantConfig: (c) =>
      exec(sql`INSERT INTO tenant_configs (tenant_id, security_thresholds, feature_flags, monitoring_scope, rate_limit_rpm, monthly_budget)
          VALUES (${c.tenantId}, ${d.json(c.securityThresholds)}, ${d.json(c.featureFlags)}, ${c.monitoringScope},
                  ${opt(c.rateLimitRpm)}, ${opt(c.monthlyBudget)})
          ON CONFLICT (tenant_id) DO UPDATE SET
            security_thresholds = excluded.security_thresholds, feature_flags = excluded.feature_flags,
            monitoring_scope = excluded.monitoring_scope, rate_limit_rpm = excluded.rate_limit_rpm,
            monthly_budget = excluded.monthly_budget`).pipe(Effect.asVoid, run("upsertTenantConfig", tenantParent(c.tenantId))),
    recordAuditEvent: (e) =>
      exec(sql`INSERT INTO audit_events (id, tenant_id, event_type, actor, resource, data, timestamp)
          VALUES (${e.id}, ${e.tenantId}, ${txt(e.eventType)}, ${txt(e.actor)}, ${txt(e.resource)}, ${d.json(e.data)}, ${ts(e.timestamp)})`).pipe(
        Effect.asVoid,
        run("recordAuditEvent", tenantParent(e.tenantId))
      ),
    queryAuditEvents: (q) =>
      exec(sql`SELECT ${columns.auditEvents} FROM audit_events WHERE ${sql.and([
        sql`tenant_id = ${q.tenantId}`,
        ...(q.eventType === undefined ? [] : [sql`event_type = ${txt(q.eventType)}`]),
        ...(q.startTime === undefined ? [] : [sql`timestamp >= ${ts(q.startTime)}`]),
        ...(q.endTime === undefined ? [] : [sql`timestamp <= ${ts(q.endTime)}`])
      ])} ORDER BY timestamp DESC, id DESC LIMIT ${q.limit} OFFSET ${q.offset}`).pipe(
        Effect.map((rows) => rows.map(row.audit)),
        run("queryAuditEvents")
      ),
    createApiKey: (k) =>
      exec(sql`INSERT INTO api_keys (id, tenant_id, name, key_hash, key_prefix, role, created_at, revoked_at)
          VALUES (${k.id}, ${k.tenantId}, ${txt(k.name)}, ${k.keyHash}, ${txt(k.keyPrefix)}, ${k.role}, ${ts(k.createdAt)},
                  ${opt(k.revokedAt, ts)})`).pipe(Effect.asVoid, run("createApiKey", tenantParent(k.tenantId))),
    getApiKeyByHash: (hash) =>
      exec(sql`SELECT ${columns.apiKeys} FROM api_keys WHERE key_hash = ${hash} AND revoked_at IS NULL`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.apiKey)),
        run("getApiKeyByHash")
      ),
    listApiKeys: (tenantId) =>
      exec(sql`SELECT ${columns.apiKeys} FROM api_keys WHERE tenant_id = ${tenantId} ORDER BY created_at, id`).pipe(
        Effect.map((rows) => rows.map(row.apiKey)),
        run("listApiKeys")
      ),
    revokeApiKey: (tenantId, keyId) =>
      exec(sql`UPDATE api_keys SET revoked_at = ${ts(new Date())}
          WHERE tenant_id = ${tenantId} AND id = ${keyId} AND revoked_at IS NULL RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0),
        run("revokeApiKey")
      ),
    storeReport: (r) =>
      // The update is limited to the same tenant: an id owned by another tenant returns no row.
      exec(sql`INSERT INTO compliance_reports
            (id, tenant_id, report_type, status, period_start, period_end, created_at, completed_at, content, error)
          VALUES (${r.id}, ${r.tenantId}, ${txt(r.reportType)}, ${r.status}, ${ts(r.periodStart)}, ${ts(r.periodEnd)},
                  ${ts(r.createdAt)}, ${opt(r.completedAt, ts)}, ${opt(r.content, d.json)}, ${opt(r.error, txt)})
          ON CONFLICT (id) DO UPDATE SET
            status = excluded.status, completed_at = excluded.completed_at, content = excluded.content, error = excluded.error
          WHERE compliance_reports.tenant_id = excluded.tenant_id
          RETURNING id`).pipe(
        run("storeReport", tenantParent(r.tenantId)),
        Effect.filterOrFail(
          (rows) => rows.length > 0,
          () => new StorageConflict({ backend, operation: "MetadataRepository.storeReport", message: `report ${r.id} belongs to another tenant` })
        ),
        Effect.asVoid
      ),
    getReport: (tenantId, reportId) =>
      exec(sql`SELECT ${columns.reports} FROM compliance_reports WHERE tenant_id = ${tenantId} AND id = ${reportId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), row.report)),
        run("getReport")
      ),
    listReports: (q) =>
      exec(sql`SELECT ${columns.reports} FROM compliance_reports WHERE tenant_id = ${q.tenantId}
          ORDER BY created_at DESC, id DESC LIMIT ${q.limit} OFFSET ${q.offset}`).pipe(
        Effect.map((rows) => rows.map(row.report)),
        run("listReports")
      ),
    healthCheck: () => exec(sql`SELECT 1`).pipe(Effect.asVoid, run("healthCheck"))
  }, {
    // SQLite calls are synchronous (a timer could not interrupt them); PostgreSQL calls are bounded
    // by the pool's connect timeout and the driver's statement and query timeouts (PostgresClient).
    backendBoundsCalls: true
  })
})

export interface Options {
  /** Run pending migrations when the layer is built (default); otherwise refuse an outdated schema. */
  readonly autoMigrate?: boolean
  /** Do not look at the schema at all (a health check: it must not migrate, and an unmigrated schema is no outage). */
  readonly skipSchemaCheck?: boolean
}

/** The repository over the `SqlClient` in context, its schema migrated (or checked) first. */
export const make = (
  options: Options = {}
): Effect.Effect<MetadataRepository.MetadataRepositoryShape, StorageUnavailable | StorageQueryError, SqlClient.SqlClient> =>
  options.skipSchemaCheck === true ? build : Effect.zipRight(Migrations.ensure(options.autoMigrate ?? true), build)

/** Each option as an unnamed `Config`, with its default (see `ConfigFields`). */
export const fields = {
  autoMigrate: Config.boolean().pipe(Config.withDefault(true)),
  skipSchemaCheck: Config.boolean().pipe(Config.withDefault(false))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`autoMigrate`), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** The repository over the `SqlClient` in context, from explicit options; reads no configuration. */
export const layer = (
  options: Options = {}
): Layer.Layer<MetadataRepository.MetadataRepository, StorageUnavailable | StorageQueryError, SqlClient.SqlClient> =>
  Layer.effect(MetadataRepository.MetadataRepository, make(options))

/** The repository from a configuration, e.g. {@link config}. */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<MetadataRepository.MetadataRepository, StorageUnavailable | StorageQueryError | ConfigError.ConfigError, SqlClient.SqlClient> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
