import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { SpanId, TenantId, TraceId } from "../domain/Ids.js"
import type { StorageStats, TraceQuery } from "../domain/Query.js"
import type { TraceEvent, TraceSpan } from "../domain/Trace.js"
import * as ConfigFields from "../ConfigFields.js"
import * as TraceRepository from "../TraceRepository.js"
import { spanMatches, hasSpanFilters, inRange } from "./TraceFilter.js"

interface TraceRecord {
  /** The earliest createdAt given to storeTrace; undefined while the trace is known only by its spans. */
  createdAt: Date | undefined
  readonly spanIds: Set<SpanId>
}

interface TenantData {
  readonly traces: Map<TraceId, TraceRecord>
  readonly spans: Map<SpanId, TraceSpan>
}

const byStartThenId = (a: TraceSpan, b: TraceSpan) =>
  a.startTime.getTime() - b.startTime.getTime() || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0)

/** None yet; the repository still composes like every adapter. */
export type Options = ConfigFields.None
export const fields = ConfigFields.none
export const config: Config.Config<Options> = ConfigFields.nothing

/** Traces in plain maps, with the same contract as every engine. Values are copied in and out. */
export const make = (_options: Options = {}): Effect.Effect<TraceRepository.TraceRepositoryShape> => Effect.sync(() => {
  const tenants = new Map<TenantId, TenantData>()

  const tenantData = (tenantId: TenantId): TenantData => {
    let data = tenants.get(tenantId)
    if (data === undefined) {
      data = { traces: new Map(), spans: new Map() }
      tenants.set(tenantId, data)
    }
    return data
  }

  const traceRecord = (data: TenantData, traceId: TraceId): TraceRecord => {
    let record = data.traces.get(traceId)
    if (record === undefined) {
      record = { createdAt: undefined, spanIds: new Set() }
      data.traces.set(traceId, record)
    }
    return record
  }

  const putSpan = (input: TraceSpan) => {
    const span = structuredClone(input)
    const data = tenantData(span.tenantId)
    const previous = data.spans.get(span.spanId)
    if (previous !== undefined && previous.traceId !== span.traceId) {
      data.traces.get(previous.traceId)?.spanIds.delete(span.spanId)
    }
    data.spans.set(span.spanId, span)
    traceRecord(data, span.traceId).spanIds.add(span.spanId)
  }

  const spansOf = (data: TenantData, record: TraceRecord): Array<TraceSpan> =>
    [...record.spanIds].flatMap((id) => data.spans.get(id) ?? []).sort(byStartThenId)

  /** A trace's createdAt: the one it was stored with, else its earliest span's start. */
  const createdAtOf = (data: TenantData, record: TraceRecord): Date =>
    record.createdAt ?? spansOf(data, record)[0]?.startTime ?? new Date(0)

  const traceOf = (data: TenantData, tenantId: TenantId, traceId: TraceId, record: TraceRecord): TraceEvent => ({
    traceId,
    tenantId,
    createdAt: createdAtOf(data, record),
    spans: spansOf(data, record)
  })

  const statsOf = (datas: Iterable<TenantData>): StorageStats => {
    let totalTraces = 0
    let totalSpans = 0
    let storageSizeBytes = 0
    let oldest: number | undefined
    let newest: number | undefined
    for (const data of datas) {
      totalTraces += data.traces.size
      totalSpans += data.spans.size
      for (const span of data.spans.values()) storageSizeBytes += Buffer.byteLength(JSON.stringify(span))
      for (const record of data.traces.values()) {
        const t = createdAtOf(data, record).getTime()
        oldest = oldest === undefined ? t : Math.min(oldest, t)
        newest = newest === undefined ? t : Math.max(newest, t)
      }
    }
    return {
      totalTraces,
      totalSpans,
      storageSizeBytes,
      ...(oldest === undefined ? {} : { oldestTrace: new Date(oldest) }),
      ...(newest === undefined ? {} : { newestTrace: new Date(newest) })
    }
  }

  const page = <A>(items: ReadonlyArray<A>, query: TraceQuery): Array<A> =>
    items.slice(query.offset, query.offset + query.limit).map((a) => structuredClone(a))

  return TraceRepository.make("memory", {
    storeTrace: (trace) =>
      Effect.sync(() => {
        const record = traceRecord(tenantData(trace.tenantId), trace.traceId)
        if (record.createdAt === undefined || trace.createdAt < record.createdAt) record.createdAt = new Date(trace.createdAt)
        trace.spans.forEach(putSpan)
      }),
    storeSpan: (span) => Effect.sync(() => putSpan(span)),
    storeSpans: (spans) => Effect.sync(() => spans.forEach(putSpan)),
    queryTraces: (query) =>
      Effect.sync(() => {
        const data = tenants.get(query.tenantId)
        if (data === undefined) return []
        const spanFilters = hasSpanFilters(query)
        const found: Array<TraceEvent> = []
        for (const [traceId, record] of data.traces) {
          if (query.traceId !== undefined && query.traceId !== traceId) continue
          const trace = traceOf(data, query.tenantId, traceId, record)
          if (!inRange(trace.createdAt, query)) continue
          if (spanFilters && !trace.spans.some((s) => spanMatches(s, query))) continue
          found.push(trace)
        }
        found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.traceId < b.traceId ? -1 : 1))
        return page(found, query)
      }),
    querySpans: (query) =>
      Effect.sync(() => {
        const data = tenants.get(query.tenantId)
        if (data === undefined) return []
        const found = [...data.spans.values()].filter(
          (s) => inRange(s.startTime, query) && (query.traceId === undefined || s.traceId === query.traceId) && spanMatches(s, query)
        )
        found.sort((a, b) => byStartThenId(b, a))
        return page(found, query)
      }),
    getTrace: (tenantId, traceId) =>
      Effect.sync(() => {
        const data = tenants.get(tenantId)
        const record = data?.traces.get(traceId)
        return data === undefined || record === undefined
          ? Option.none()
          : Option.some(structuredClone(traceOf(data, tenantId, traceId, record)))
      }),
    getSpan: (tenantId, spanId) =>
      Effect.sync(() => Option.map(Option.fromNullable(tenants.get(tenantId)?.spans.get(spanId)), (s) => structuredClone(s))),
    deleteTracesBefore: (tenantId, before) =>
      Effect.sync(() => {
        const data = tenants.get(tenantId)
        if (data === undefined) return 0
        let deleted = 0
        for (const [traceId, record] of data.traces) {
          if (createdAtOf(data, record) >= before) continue
          for (const spanId of record.spanIds) data.spans.delete(spanId)
          data.traces.delete(traceId)
          deleted++
        }
        return deleted
      }),
    getStats: (tenantId) => Effect.sync(() => statsOf(tenants.has(tenantId) ? [tenantData(tenantId)] : [])),
    getGlobalStats: () => Effect.sync(() => statsOf(tenants.values())),
    healthCheck: () => Effect.void
  }, { backendBoundsCalls: true }) // no I/O: nothing to time out
})

/** A fresh, private repository. */
export const layer = (options: Options = {}): Layer.Layer<TraceRepository.TraceRepository> => Layer.effect(TraceRepository.TraceRepository, make(options))

export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<TraceRepository.TraceRepository, ConfigError.ConfigError> =>
  Layer.effect(TraceRepository.TraceRepository, Effect.flatMap(Config.unwrap(config), make))
