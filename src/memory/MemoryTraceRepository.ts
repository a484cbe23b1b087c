import * as Config from "effect/Config"
import * as Context from "effect/Context"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { SpanId, TenantId, TraceId } from "../domain/Ids.js"
import type { StorageStats, TraceQuery } from "../domain/Query.js"
import type { TraceEvent, TraceSpan } from "../domain/Trace.js"
import * as ConfigFields from "../internal/ConfigFields.js"
import { InvalidInput } from "../StorageError.js"
import * as TraceRepository from "../TraceRepository.js"
import * as SpanFilters from "../domain/SpanFilters.js"
import { spanStorageBytes } from "../domain/StorageSize.js"
import * as SpanVersion from "../domain/SpanVersion.js"
import { TraceSink, type TraceSinkShape } from "../TraceSink.js"

interface TraceRecord {
  /** The earliest createdAt given to storeTrace; undefined while the trace is known only by its spans. */
  createdAt: Date | undefined
  readonly spanIds: Set<SpanId>
}

interface TenantData {
  readonly traces: Map<TraceId, TraceRecord>
  readonly spans: Map<SpanId, TraceSpan>
  /** The version of each current span: a copy with a lower one is ignored (last write wins). */
  readonly versions: Map<SpanId, SpanVersion.SpanVersion>
}

/** Traces deleted per round of deleteTracesBefore: other fibers run between rounds. */
export const deleteChunk = 1_000

/** Inclusive time range of a query. */
const inRange = (t: Date, q: TraceQuery): boolean =>
  (q.startTime === undefined || t >= q.startTime) && (q.endTime === undefined || t <= q.endTime)

const byStartThenId = (a: TraceSpan, b: TraceSpan) =>
  a.startTime.getTime() - b.startTime.getTime() || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0)

export interface Options {
  /** Traces per round of deleteTracesBefore (>= 1): other fibers run between rounds. Default 1,000. */
  readonly deleteChunk?: number
}

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  deleteChunk: Config.integer().pipe(
    Config.validate({ message: "must be a whole number >= 1", validation: (n) => n >= 1 }),
    Config.withDefault(deleteChunk)
  )
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name, every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** Traces in plain maps, with the same contract as every engine. Values are copied in and out. */
export const make = (options: Options = {}): Effect.Effect<TraceRepository.TraceRepositoryShape, InvalidInput> =>
  Effect.map(makeWithSink(options), (parts) => parts.repository)

/** The repository and a {@link TraceSink} over the same maps (the sink keeps the versions the TraceWriter stamped). */
export const makeWithSink = (options: Options = {}): Effect.Effect<{
  readonly repository: TraceRepository.TraceRepositoryShape
  readonly sink: TraceSinkShape
}, InvalidInput> => {
  const chunk = options.deleteChunk ?? deleteChunk
  if (!Number.isSafeInteger(chunk) || chunk < 1) {
    return Effect.fail(new InvalidInput({
      backend: "memory",
      operation: "MemoryTraceRepository.make",
      path: ["deleteChunk"],
      message: `deleteChunk: must be a whole number >= 1, got ${chunk}`
    }))
  }
  return Effect.sync(() => {
  const tenants = new Map<TenantId, TenantData>()

  const tenantData = (tenantId: TenantId): TenantData => {
    let data = tenants.get(tenantId)
    if (data === undefined) {
      data = { traces: new Map(), spans: new Map(), versions: new Map() }
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

  /**
   * A span's identity is (tenant, spanId): stored again under another trace id, it moves there. A
   * trace known only by its spans ends when its last span moves away.
   */
  const putSpan = (input: TraceSpan, version: SpanVersion.SpanVersion) => {
    const data = tenantData(input.tenantId)
    if ((data.versions.get(input.spanId) ?? -1) > version) return
    const span = structuredClone(input)
    data.versions.set(span.spanId, version)
    const previous = data.spans.get(span.spanId)
    if (previous !== undefined && previous.traceId !== span.traceId) {
      const left = data.traces.get(previous.traceId)
      left?.spanIds.delete(span.spanId)
      if (left !== undefined && left.createdAt === undefined && left.spanIds.size === 0) data.traces.delete(previous.traceId)
    }
    data.spans.set(span.spanId, span)
    traceRecord(data, span.traceId).spanIds.add(span.spanId)
  }

  const spansOf = (data: TenantData, record: TraceRecord): Array<TraceSpan> =>
    [...record.spanIds].flatMap((id) => data.spans.get(id) ?? []).sort(byStartThenId)

  /** A trace's createdAt: the one it was stored with, else its earliest current span's start (it has one). */
  const createdAtOf = (data: TenantData, record: TraceRecord): Date =>
    record.createdAt ?? spansOf(data, record)[0]!.startTime

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
      for (const span of data.spans.values()) storageSizeBytes += spanStorageBytes(span)
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

  const storeTrace = (trace: TraceEvent) => {
    const record = traceRecord(tenantData(trace.tenantId), trace.traceId)
    if (record.createdAt === undefined || trace.createdAt < record.createdAt) record.createdAt = new Date(trace.createdAt)
    trace.spans.forEach((s) => putSpan(s, SpanVersion.next()))
  }

  /** Removes up to `chunk` of the tenant's traces created before `before`; how many went. */
  const deleteRound = (data: TenantData, before: Date, chunk: number): number => {
    let deleted = 0
    for (const [traceId, record] of data.traces) {
      if (deleted === chunk) break
      if (createdAtOf(data, record) >= before) continue
      for (const spanId of record.spanIds) {
        data.spans.delete(spanId)
        data.versions.delete(spanId)
      }
      data.traces.delete(traceId)
      deleted++
    }
    return deleted
  }

  const sink: TraceSinkShape = {
    storeSpans: (spans, versions) => Effect.sync(() => spans.forEach((s, i) => putSpan(s, versions[i]!))),
    storeTraces: (records) => Effect.sync(() => records.forEach(storeTrace))
  }

  const repository = TraceRepository.make("memory", {
    storeTrace: (trace) => Effect.sync(() => storeTrace(trace)),
    storeSpan: (span) => Effect.sync(() => putSpan(span, SpanVersion.next())),
    storeSpans: (spans) => Effect.sync(() => spans.forEach((s) => putSpan(s, SpanVersion.next()))),
    queryTraces: (query) =>
      Effect.sync(() => {
        const data = tenants.get(query.tenantId)
        if (data === undefined) return []
        const filters = SpanFilters.active(query)
        const found: Array<TraceEvent> = []
        for (const [traceId, record] of data.traces) {
          if (query.traceId !== undefined && query.traceId !== traceId) continue
          const trace = traceOf(data, query.tenantId, traceId, record)
          if (!inRange(trace.createdAt, query)) continue
          if (filters.length > 0 && !trace.spans.some((s) => SpanFilters.matchesAll(filters, s))) continue
          found.push(trace)
        }
        found.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.traceId < b.traceId ? -1 : 1))
        return page(found, query)
      }),
    querySpans: (query) =>
      Effect.sync(() => {
        const data = tenants.get(query.tenantId)
        if (data === undefined) return []
        const filters = SpanFilters.active(query)
        const found = [...data.spans.values()].filter(
          (s) => inRange(s.startTime, query) && (query.traceId === undefined || s.traceId === query.traceId) && SpanFilters.matchesAll(filters, s)
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
      Effect.gen(function*() {
        const data = tenants.get(tenantId)
        if (data === undefined) return 0
        let deleted = 0
        while (true) {
          const round = deleteRound(data, before, chunk)
          deleted += round
          if (round < chunk) return deleted
          yield* Effect.yieldNow()
        }
      }),
    getStats: (tenantId) => Effect.sync(() => statsOf(tenants.has(tenantId) ? [tenantData(tenantId)] : [])),
    getGlobalStats: () => Effect.sync(() => statsOf(tenants.values())),
    healthCheck: () => Effect.void
  }, { backendBoundsCalls: true }) // no I/O: nothing to time out
  return { repository, sink }
  })
}

const toContext = (parts: Effect.Effect.Success<ReturnType<typeof makeWithSink>>) =>
  Context.make(TraceRepository.TraceRepository, parts.repository).pipe(Context.add(TraceSink, parts.sink))

/** A fresh, private repository (and the TraceWriter's sink into it). */
export const layer = (options: Options = {}): Layer.Layer<TraceRepository.TraceRepository | TraceSink, InvalidInput> =>
  Layer.effectContext(Effect.map(makeWithSink(options), toContext))

export const layerConfig = (config: Config.Config.Wrap<Options>): Layer.Layer<TraceRepository.TraceRepository | TraceSink, InvalidInput | ConfigError.ConfigError> =>
  Layer.effectContext(Effect.map(Effect.flatMap(Config.unwrap(config), makeWithSink), toContext))
