import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import {
  AuditEvent,
  AuditQuery,
  Cache,
  type JsonObject,
  MetadataRepository,
  newSpanId,
  newTenantId,
  newTraceId,
  SecurityFinding,
  SpanEvent,
  apiTokenPrefix,
  hashApiToken,
  NewTenant,
  type TenantId,
  TraceQuery,
  TraceRepository,
  TraceSpan,
  uuid
} from "../../src/index.js"
import { at } from "../support/fixtures.js"
import { bytesOf, chunks, hostileInputs, loneSurrogates } from "../support/hostile.js"

const strings = hostileInputs()
/** A string as an object key: `__proto__` cannot be one (it is refused; see the rejection tests). */
const asKey = (s: string) => (s === "__proto__" ? "proto-key" : s)
/** Objects with an own `__proto__` key, the way JSON.parse builds them. */
const protoObject = (value: unknown): Record<string, never> => JSON.parse(`{"__proto__": ${JSON.stringify(value)}, "k": "v"}`) as Record<string, never>
const short = strings.filter((s) => s.length < 10_000)

/** A JSON value with its object keys sorted, so engines that reorder keys (JSONB) compare equal. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

/** Where a stored string differs from the one written: index of the input and field. */
const describeMismatch = (i: number, field: string) => `string #${i} (${JSON.stringify(strings[i]!.slice(0, 40))}) in ${field}`

const hostileSpan = (tenantId: TenantId, traceId: ReturnType<typeof newTraceId>, i: number) => {
  const s = strings[i]!
  return TraceSpan.make({
    tenantId,
    traceId,
    spanId: newSpanId(),
    operationName: "hostile",
    provider: "OpenAI",
    modelName: "gpt-4o",
    startTime: at(i),
    prompt: s,
    response: s,
    errorMessage: s,
    tags: { [asKey(s)]: s, "hostile.value": s },
    securityFindings: [
      SecurityFinding.make({
        severity: "High",
        findingType: "hostile",
        description: s,
        detectedAt: at(i),
        confidenceScore: 0.5,
        location: s,
        metadata: { [asKey(s)]: s, "hostile.value": s }
      })
    ],
    events: [SpanEvent.make({ timestamp: at(i), eventType: "hostile", description: s, data: { [asKey(s)]: s } })]
  })
}

/** The string fields of a span, by name, for comparison. */
const fieldsOf = (span: TraceSpan): Record<string, unknown> => ({
  prompt: span.prompt,
  response: span.response,
  errorMessage: span.errorMessage,
  tags: canonical(span.tags),
  findingDescription: span.securityFindings[0]?.description,
  findingLocation: span.securityFindings[0]?.location,
  findingMetadata: canonical(span.securityFindings[0]?.metadata),
  eventDescription: span.events[0]?.description,
  eventData: canonical(span.events[0]?.data)
})

/** Every way one bad string can reach a span's string fields (raw objects: the constructors would refuse them first). */
const badSpans = (tenantId: TenantId, bad: string): ReadonlyArray<[string, TraceSpan]> => {
  const base = TraceSpan.make({ tenantId, traceId: newTraceId(), operationName: "op", provider: "OpenAI", modelName: "m", prompt: "ok", startTime: at(0) })
  const good = SecurityFinding.make({ severity: "Low", findingType: "t", description: "d", detectedAt: at(0), confidenceScore: 0.1 })
  const event = SpanEvent.make({ timestamp: at(0), eventType: "e", description: "d" })
  const with_ = (fields: Partial<TraceSpan>): TraceSpan => ({ ...base, spanId: newSpanId(), ...fields })
  return [
    ["prompt", with_({ prompt: bad })],
    ["response", with_({ response: bad })],
    ["operationName", with_({ operationName: bad })],
    ["modelName", with_({ modelName: bad })],
    ["provider", with_({ provider: bad })],
    ["errorMessage", with_({ errorMessage: bad })],
    ["tag key", with_({ tags: { [bad]: "v" } })],
    ["tag value", with_({ tags: { k: bad } })],
    ["finding metadata key", with_({ securityFindings: [{ ...good, metadata: { [bad]: "v" } }] })],
    ["finding metadata value", with_({ securityFindings: [{ ...good, metadata: { k: bad } }] })],
    ["finding description", with_({ securityFindings: [{ ...good, description: bad }] })],
    ["event data key", with_({ events: [{ ...event, data: { [bad]: "v" } }] })],
    ["tag key __proto__", with_({ tags: protoObject(bad) })],
    ["finding metadata key __proto__", with_({ securityFindings: [{ ...good, metadata: protoObject(bad) }] })]
  ]
}

export interface HostileOptions {
  readonly excludeTestServices?: boolean
}

/** Every hostile string in every string field of a span, read back byte-identical. */
export const hostileTraces = <E>(name: string, repository: Layer.Layer<TraceRepository.TraceRepository, E>, options: HostileOptions = {}) =>
  layer(repository, { timeout: "180 seconds", excludeTestServices: options.excludeTestServices ?? true })(`hostile input, traces: ${name}`, (it) => {
    it.effect(`stores ${strings.length} hostile strings in every span string field and reads them back byte-identical`, () =>
      Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        const tenantId = newTenantId()
        const traceIds = Array.from({ length: Math.ceil(strings.length / 100) }, () => newTraceId())
        const spans = strings.map((_, i) => hostileSpan(tenantId, traceIds[Math.floor(i / 100)]!, i))
        for (const batch of chunks(spans, 100)) yield* repo.storeSpans(batch)

        const stored = yield* repo.querySpans(TraceQuery.make({ tenantId, limit: 10_000 }))
        expect(stored).toHaveLength(strings.length)
        const byId = new Map(stored.map((s) => [s.spanId, s]))
        const mismatches: Array<string> = []
        spans.forEach((written, i) => {
          const got = byId.get(written.spanId)
          if (got === undefined) return void mismatches.push(describeMismatch(i, "(span missing)"))
          const want = fieldsOf(written)
          const have = fieldsOf(got)
          for (const field of Object.keys(want)) if (want[field] !== have[field]) mismatches.push(describeMismatch(i, field))
        })
        expect(mismatches).toEqual([])

        // getSpan and getTrace read the same bytes; tag filters with hostile keys and values match exactly one span.
        for (const i of [0, 1, strings.length - 1, strings.length - 2, strings.length - 3]) {
          const got = yield* repo.getSpan(tenantId, spans[i]!.spanId)
          expect(Option.map(got, fieldsOf)).toEqual(Option.some(fieldsOf(spans[i]!)))
        }
        const trace = yield* repo.getTrace(tenantId, traceIds[0]!)
        expect(Option.map(trace, (t) => t.spans.length)).toEqual(Option.some(100))
        const filtered = yield* Effect.forEach(
          short.filter((_, i) => i % 20 === 0),
          (s) => repo.querySpans(TraceQuery.make({ tenantId, tags: { [asKey(s)]: s }, limit: 10 })).pipe(Effect.map((found) => [s, found.map((f) => f.prompt)] as const)),
          { concurrency: 4 }
        )
        expect(filtered.filter(([s, found]) => found.length !== 1 || found[0] !== s).map(([s]) => s)).toEqual([])
        console.log(`hostile traces on ${name}: ${strings.length} strings x 9 span fields, ${stored.length} spans read back`)
      }), 240_000)

    it.effect(`rejects lone surrogates in every span field with InvalidInput and stores nothing (${loneSurrogates.length} strings)`, () =>
      Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        const tenantId = newTenantId()
        const good = TraceSpan.make({ tenantId, traceId: newTraceId(), operationName: "op", provider: "OpenAI", modelName: "m", prompt: "fine", startTime: at(0) })
        for (const bad of loneSurrogates) {
          for (const [field, span] of badSpans(tenantId, bad)) {
            const one = yield* Effect.flip(repo.storeSpan(span))
            expect(one._tag, field).toBe("InvalidInput")
            // In a batch, the bad span fails the whole batch: the good one is not stored either.
            const batch = yield* Effect.flip(repo.storeSpans([good, span]))
            expect(batch._tag, field).toBe("InvalidInput")
            const trace = yield* Effect.flip(repo.storeTrace({ traceId: span.traceId, tenantId, createdAt: at(0), spans: [span] }))
            expect(trace._tag, field).toBe("InvalidInput")
          }
        }
        const badTag = yield* Effect.flip(repo.querySpans({ ...TraceQuery.make({ tenantId }), tags: { k: loneSurrogates[0]! } }))
        expect(badTag._tag).toBe("InvalidInput")
        // A `__proto__` tag filter would otherwise vanish in decoding and match every span of the tenant.
        const protoTag = yield* Effect.flip(repo.querySpans({ ...TraceQuery.make({ tenantId }), tags: protoObject("v") }))
        expect(protoTag._tag).toBe("InvalidInput")
        expect((yield* repo.getStats(tenantId)).totalSpans).toBe(0)
        expect(yield* repo.querySpans(TraceQuery.make({ tenantId }))).toEqual([])
      }), 120_000)
  })

/** Hostile tenant names and configs, audit event data (keys and values), actors and resources. */
export const hostileMetadata = <E>(name: string, repository: Layer.Layer<MetadataRepository.MetadataRepository, E>, options: HostileOptions = {}) =>
  layer(repository, { timeout: "180 seconds", excludeTestServices: options.excludeTestServices ?? true })(`hostile input, metadata: ${name}`, (it) => {
    it.effect(`stores ${strings.length} hostile tenant names, configs and tokens and reads them back byte-identical`, () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        // Tokens are stored as their SHA-256, so a token of any length works on every engine.
        const tenants = strings.map((s, i) =>
          NewTenant.make({ name: s, apiToken: `${s}#${i}`, plan: "free", config: { [asKey(s)]: s, nested: [s, { [asKey(s)]: s }] } })
        )
        yield* Effect.forEach(tenants, (t) => repo.createTenant(t), { concurrency: 8, discard: true })
        // One listTenants reads every name and config back; tokens are looked up one by one for every 5th.
        const listed = new Map((yield* repo.listTenants()).map((t) => [t.id, t]))
        const mismatches: Array<string> = []
        tenants.forEach((t, i) => {
          const got = listed.get(t.id)
          if (got === undefined) return void mismatches.push(describeMismatch(i, "(tenant missing)"))
          if (got.name !== t.name) mismatches.push(describeMismatch(i, "tenant name"))
          if (got.apiTokenHash !== hashApiToken(t.apiToken) || got.apiTokenPrefix !== apiTokenPrefix(t.apiToken)) mismatches.push(describeMismatch(i, "api token hash or prefix"))
          if (canonical(got.config) !== canonical(t.config)) mismatches.push(describeMismatch(i, "tenant config"))
        })
        yield* Effect.forEach(tenants.filter((_, i) => i % 5 === 0 || i >= tenants.length - 3), (t) =>
          Effect.gen(function*() {
            const byId = yield* repo.getTenant(t.id)
            if (Option.getOrUndefined(byId)?.name !== t.name) mismatches.push(`getTenant ${JSON.stringify(t.name.slice(0, 40))}`)
            const byToken = yield* repo.getTenantByToken(t.apiToken)
            if (Option.getOrUndefined(byToken)?.id !== t.id) mismatches.push(`getTenantByToken ${JSON.stringify(t.apiToken.slice(0, 40))}`)
          }), { concurrency: 8, discard: true })
        expect(mismatches).toEqual([])
        console.log(`hostile metadata on ${name}: ${strings.length} tenant names, configs and tokens`)
      }), 240_000)

    it.effect(`stores ${strings.length} hostile strings as audit data keys and values, actors and resources`, () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const tenant = NewTenant.make({ name: "audit", apiToken: `token-${uuid()}`, plan: "free" })
        yield* repo.createTenant(tenant)
        const events = chunks(strings, 25).map((chunk, i) =>
          AuditEvent.make({
            tenantId: tenant.id,
            eventType: "hostile",
            actor: chunk[0]!,
            resource: chunk[chunk.length - 1]!,
            data: { ...Object.fromEntries(chunk.map((s) => [asKey(s), s])), list: [...chunk], nested: { deeper: Object.fromEntries(chunk.map((s) => [asKey(s), [s]])) } } as JsonObject,
            timestamp: at(i)
          })
        )
        yield* Effect.forEach(events, (e) => repo.recordAuditEvent(e), { concurrency: 4, discard: true })
        const stored = yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: tenant.id, limit: 10_000 }))
        expect(stored).toHaveLength(events.length)
        const byId = new Map(stored.map((e) => [e.id, e]))
        const mismatches = events.flatMap((e, i) => {
          const got = byId.get(e.id)
          if (got === undefined) return [`event #${i} missing`]
          return [
            ...(got.actor === e.actor ? [] : [`event #${i} actor`]),
            ...(got.resource === e.resource ? [] : [`event #${i} resource`]),
            ...(canonical(got.data) === canonical(e.data) ? [] : [`event #${i} data`])
          ]
        })
        expect(mismatches).toEqual([])
      }), 240_000)

    it.effect("rejects lone surrogates in tenant name, token, config and audit data with InvalidInput, and stores nothing", () =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const before = (yield* repo.listTenants()).length
        const owner = NewTenant.make({ name: "owner", apiToken: `token-${uuid()}`, plan: "free" })
        yield* repo.createTenant(owner)
        for (const bad of loneSurrogates) {
          const tenant = () => ({ ...NewTenant.make({ name: "n", apiToken: `token-${uuid()}`, plan: "free" }) })
          const tenants: ReadonlyArray<NewTenant> = [
            { ...tenant(), name: bad },
            { ...tenant(), apiToken: bad },
            { ...tenant(), plan: bad },
            { ...tenant(), config: { [bad]: 1 } },
            { ...tenant(), config: { k: [bad] } },
            { ...tenant(), config: { k: { [bad]: true } } },
            { ...tenant(), config: protoObject(bad) },
            { ...tenant(), config: { k: [protoObject({ polluted: bad })] } }
          ]
          for (const t of tenants) {
            expect((yield* Effect.flip(repo.createTenant(t)))._tag).toBe("InvalidInput")
            expect(yield* repo.getTenant(t.id)).toEqual(Option.none())
          }
          expect((yield* Effect.flip(repo.updateTenant({ ...owner, name: bad })))._tag).toBe("InvalidInput")
          expect((yield* Effect.flip(repo.updateTenant({ ...owner, config: protoObject("x") })))._tag).toBe("InvalidInput")
          expect((yield* Effect.flip(repo.getTenantByToken(bad)))._tag).toBe("InvalidInput")
          const event = AuditEvent.make({ tenantId: owner.id, eventType: "e", actor: "a", resource: "r" })
          const events: ReadonlyArray<AuditEvent> = [
            { ...event, data: { [bad]: "v" } },
            { ...event, data: { k: bad } },
            { ...event, data: { k: { deep: [bad] } } },
            { ...event, data: { k: { [bad]: null } } },
            { ...event, data: protoObject(bad) },
            { ...event, data: { k: { deep: protoObject({ polluted: true }) } } },
            { ...event, actor: bad },
            { ...event, resource: bad },
            { ...event, eventType: bad }
          ]
          for (const e of events) {
            expect((yield* Effect.flip(repo.recordAuditEvent(e)))._tag).toBe("InvalidInput")
          }
        }
        expect(Option.map(yield* repo.getTenant(owner.id), (t) => t.name)).toEqual(Option.some("owner"))
        expect(yield* repo.listTenants()).toHaveLength(before + 1)
        expect(yield* repo.queryAuditEvents(AuditQuery.make({ tenantId: owner.id }))).toEqual([])
      }), 120_000)
  })

/** Hostile cache keys and values (the values as their UTF-8 bytes). */
export const hostileCache = <E>(name: string, cache: Layer.Layer<Cache.Cache, E>, options: HostileOptions = {}) =>
  describe(`hostile input, cache: ${name}`, () => {
    layer(cache, { timeout: "120 seconds", excludeTestServices: options.excludeTestServices ?? true })((it) => {
      const keys = strings.filter((s) => s !== "")
      it.effect(`stores ${keys.length} hostile keys with hostile values and reads them back byte-identical`, () =>
        Effect.gen(function*() {
          const c = yield* Cache.Cache
          yield* Effect.forEach(keys, (k) => c.set(k, bytesOf(k), "5 minutes"), { concurrency: 16, discard: true })
          const mismatches: Array<string> = []
          yield* Effect.forEach(keys, (k, i) =>
            c.get(k).pipe(Effect.map((got) => {
              if (Option.isNone(got) || !Buffer.from(got.value).equals(Buffer.from(bytesOf(k)))) mismatches.push(`key #${i} ${JSON.stringify(k.slice(0, 40))}`)
            })), { concurrency: 16, discard: true })
          expect(mismatches).toEqual([])
          // Invalidating one hostile key leaves its look-alikes alone.
          yield* c.invalidate("'")
          expect(yield* c.get("'")).toEqual(Option.none())
          expect(Option.isSome(yield* c.get("''"))).toBe(true)
          expect(Option.isSome(yield* c.get("\\'"))).toBe(true)
          yield* Effect.forEach(keys, (k) => c.invalidate(k), { concurrency: 16, discard: true })
          console.log(`hostile cache on ${name}: ${keys.length} keys and values`)
        }), 180_000)

      it.effect("rejects lone surrogates in keys with InvalidInput and stores nothing", () =>
        Effect.gen(function*() {
          const c = yield* Cache.Cache
          for (const bad of loneSurrogates) {
            expect((yield* Effect.flip(c.set(bad, bytesOf("v"), "1 minute")))._tag).toBe("InvalidInput")
            expect((yield* Effect.flip(c.get(bad)))._tag).toBe("InvalidInput")
            expect((yield* Effect.flip(c.invalidate(bad)))._tag).toBe("InvalidInput")
            // Nothing landed under the key a lossy encoder would have produced (U+FFFD).
            expect(yield* c.get(bad.toWellFormed())).toEqual(Option.none())
          }
        }))
    })
  })
