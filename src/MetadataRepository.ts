import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ApiKeyRecord, KeyHash } from "./domain/ApiKey.js"
import { AuditEvent } from "./domain/Audit.js"
import { TenantId } from "./domain/Ids.js"
import { isNonEmptyText, isUuid, NonEmptyText, Uuid } from "./domain/Primitives.js"
import { AuditQuery, ReportQuery } from "./domain/Query.js"
import { ComplianceReport } from "./domain/Report.js"
import { isNewTenant, NewTenant, type Tenant, TenantConfig } from "./domain/Tenant.js"
import * as ServiceBoundary from "./internal/ServiceBoundary.js"
import type { Backend, StorageError } from "./StorageError.js"

/**
 * Tenants and what hangs off them. A duplicate id, api token (by its hash) or key hash is a `StorageConflict`;
 * updating or configuring a missing tenant is a `StorageNotFound`; deleting a tenant removes its
 * config, audit events, API keys and reports.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Option from "effect/Option"
 * import { MetadataRepository, NewTenant, StorageProfile } from "llmtrace-storage"
 *
 * const program = Effect.gen(function*() {
 *   const metadata = yield* MetadataRepository.MetadataRepository
 *   // The token is hashed when stored and never kept: lookups hash the token presented.
 *   const tenant = NewTenant.make({ name: "Acme", plan: "pro", apiToken: "acme-secret-token" })
 *   yield* metadata.createTenant(tenant)
 *   const byToken = yield* metadata.getTenantByToken("acme-secret-token")
 *   const wrongToken = yield* metadata.getTenantByToken("guessed-token")
 *   return { tenant, byToken, wrongToken }
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(StorageProfile.memory))).then(({ tenant, byToken, wrongToken }) => {
 *   assert.strictEqual(Option.map(byToken, (t) => t.id).pipe(Option.getOrNull), tenant.id)
 *   assert.strictEqual(Option.isNone(wrongToken), true)
 * })
 * ```
 */
export interface MetadataRepositoryShape {
  /** Stores the tenant with its token's SHA-256 and display prefix; never the token. */
  readonly createTenant: (tenant: NewTenant) => Effect.Effect<void, StorageError>
  readonly getTenant: (id: TenantId) => Effect.Effect<Option.Option<Tenant>, StorageError>
  /** The tenant whose token hashes to the same SHA-256 as `apiToken`. */
  readonly getTenantByToken: (apiToken: string) => Effect.Effect<Option.Option<Tenant>, StorageError>
  /**
   * Replaces name, token, plan and config of an existing tenant (createdAt stays); returns the tenant
   * as this update found it, read under the same lock as the write, so the token it replaced is
   * known exactly even when updates race (the token cache tombstones it).
   */
  readonly updateTenant: (tenant: NewTenant) => Effect.Effect<Tenant, StorageError>
  /** Every tenant, oldest first. */
  readonly listTenants: () => Effect.Effect<ReadonlyArray<Tenant>, StorageError>
  /** Deletes a tenant and everything it owns; returns the tenant as it was, none if it did not exist. */
  readonly deleteTenant: (id: TenantId) => Effect.Effect<Option.Option<Tenant>, StorageError>
  readonly getTenantConfig: (tenantId: TenantId) => Effect.Effect<Option.Option<TenantConfig>, StorageError>
  readonly upsertTenantConfig: (config: TenantConfig) => Effect.Effect<void, StorageError>
  readonly recordAuditEvent: (event: AuditEvent) => Effect.Effect<void, StorageError>
  /** Newest first. */
  readonly queryAuditEvents: (query: AuditQuery) => Effect.Effect<ReadonlyArray<AuditEvent>, StorageError>
  readonly createApiKey: (key: ApiKeyRecord) => Effect.Effect<void, StorageError>
  /** The active (unrevoked) key with this SHA-256 hash. */
  readonly getApiKeyByHash: (keyHash: string) => Effect.Effect<Option.Option<ApiKeyRecord>, StorageError>
  /** Every key of the tenant, revoked ones too, oldest first. */
  readonly listApiKeys: (tenantId: TenantId) => Effect.Effect<ReadonlyArray<ApiKeyRecord>, StorageError>
  /** Revokes an active key; true if a key changed. */
  readonly revokeApiKey: (tenantId: TenantId, keyId: string) => Effect.Effect<boolean, StorageError>
  /** Inserts a report, or updates status, completion, content and error of an existing one. */
  readonly storeReport: (report: ComplianceReport) => Effect.Effect<void, StorageError>
  readonly getReport: (tenantId: TenantId, reportId: string) => Effect.Effect<Option.Option<ComplianceReport>, StorageError>
  /** Newest first. */
  readonly listReports: (query: ReportQuery) => Effect.Effect<ReadonlyArray<ComplianceReport>, StorageError>
  readonly healthCheck: () => Effect.Effect<void, StorageError>
}

/**
 * The metadata store ({@link MetadataRepositoryShape}): `SqlMetadataRepository` on PostgreSQL or SQLite, behind
 * `CachedMetadataRepository` in every profile, so that the proxy's hot path, `getTenantByToken`, is served from a cache.
 */
export class MetadataRepository extends Context.Tag("llmtrace-storage/MetadataRepository")<
  MetadataRepository,
  MetadataRepositoryShape
>() {}

export interface MakeOptions {
  /** Upper bound of every call; default 10 seconds. */
  readonly timeout?: Duration.DurationInput
  /**
   * The backend bounds every call itself (driver-level timeouts, or no I/O at all), so `make` adds
   * no timer: an Effect timer per call forks fibers, which costs more than a fast query. Default false.
   */
  readonly backendBoundsCalls?: boolean
}

/**
 * Wraps a backend's implementation ({@link ServiceBoundary}): inputs validated at the boundary, each
 * operation a span `MetadataRepository.<method>` when the application installed a tracer, every call
 * bounded by a timeout unless the backend bounds it.
 */
export const make = (backend: Backend, impl: MetadataRepositoryShape, options: MakeOptions = {}): MetadataRepositoryShape => {
  const boundary = ServiceBoundary.make({
    backend,
    service: "MetadataRepository",
    timeout: options.backendBoundsCalls === true ? undefined : Duration.decode(options.timeout ?? "10 seconds")
  })
  /** An operation of one argument, validated by `schema` (or recognised by `guard` first). */
  const unary = <M extends keyof MetadataRepositoryShape, A, I>(
    method: M,
    schema: Schema.Schema<A, I>,
    run: (a: A) => Effect.Effect<unknown, StorageError>,
    guard?: (input: unknown) => boolean
  ) => boundary.operation(method, ServiceBoundary.check(schema, backend, boundary.name(method), guard), run) as unknown as MetadataRepositoryShape[M]
  const nullary = <M extends keyof MetadataRepositoryShape>(method: M, run: () => Effect.Effect<unknown, StorageError>) => {
    const op = boundary.operation(method, undefined, run)
    return (() => op(undefined)) as unknown as MetadataRepositoryShape[M]
  }
  const revokeApiKey = boundary.operation(
    "revokeApiKey",
    ServiceBoundary.check(Schema.Tuple(TenantId, Uuid), backend, boundary.name("revokeApiKey")),
    ([tenantId, keyId]: readonly [TenantId, string]) => impl.revokeApiKey(tenantId, keyId)
  )
  const getReport = boundary.operation(
    "getReport",
    ServiceBoundary.check(Schema.Tuple(TenantId, Uuid), backend, boundary.name("getReport")),
    ([tenantId, reportId]: readonly [TenantId, string]) => impl.getReport(tenantId, reportId)
  )

  return {
    createTenant: unary("createTenant", NewTenant, impl.createTenant, isNewTenant),
    getTenant: unary("getTenant", TenantId, impl.getTenant, isUuid),
    getTenantByToken: unary("getTenantByToken", NonEmptyText, impl.getTenantByToken, isNonEmptyText),
    updateTenant: unary("updateTenant", NewTenant, impl.updateTenant, isNewTenant),
    listTenants: nullary("listTenants", impl.listTenants),
    deleteTenant: unary("deleteTenant", TenantId, impl.deleteTenant, isUuid),
    getTenantConfig: unary("getTenantConfig", TenantId, impl.getTenantConfig, isUuid),
    upsertTenantConfig: unary("upsertTenantConfig", TenantConfig, impl.upsertTenantConfig),
    recordAuditEvent: unary("recordAuditEvent", AuditEvent, impl.recordAuditEvent),
    queryAuditEvents: unary("queryAuditEvents", AuditQuery, impl.queryAuditEvents),
    createApiKey: unary("createApiKey", ApiKeyRecord, impl.createApiKey),
    getApiKeyByHash: unary("getApiKeyByHash", KeyHash, impl.getApiKeyByHash),
    listApiKeys: unary("listApiKeys", TenantId, impl.listApiKeys, isUuid),
    revokeApiKey: (tenantId, keyId) => revokeApiKey([tenantId, keyId]),
    storeReport: unary("storeReport", ComplianceReport, impl.storeReport),
    getReport: (tenantId, reportId) => getReport([tenantId, reportId]),
    listReports: unary("listReports", ReportQuery, impl.listReports),
    healthCheck: nullary("healthCheck", impl.healthCheck)
  }
}
