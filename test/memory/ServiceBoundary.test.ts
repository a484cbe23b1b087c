import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import { Cache, MetadataRepository, TraceRepository } from "../../src/index.js"
import { cacheOperations, metadataOperations, type Operations, recordingTracer, traceOperations } from "../contract/TracingContract.js"

/**
 * Backends that answer every method with the span they run under (whatever the boundary made, or
 * the caller's), so a test sees whether `make` put a span between the caller and the backend.
 */
const seen: Array<Option.Option<Tracer.AnySpan>> = []
const probe = () => Effect.map(Effect.option(Effect.currentParentSpan), (span) => void seen.push(span))
const probing = <S>(): S => new Proxy({}, { get: () => probe }) as S

const ports: ReadonlyArray<readonly [service: string, operations: () => Operations]> = [
  ["TraceRepository", () => traceOperations(TraceRepository.make("memory", probing(), { backendBoundsCalls: true }))],
  ["MetadataRepository", () => metadataOperations(MetadataRepository.make("sqlite", probing()))],
  ["Cache", () => cacheOperations(Cache.make("memory", { get: () => Effect.as(probe(), Option.none()), set: probe, compareAndSet: () => Effect.as(probe(), true), invalidate: probe, healthCheck: probe }))]
]

/** The caller's span: an operation that made none of its own leaves it the backend's parent. */
const caller = Tracer.externalSpan({ spanId: "caller", traceId: "trace" })

describe("ServiceBoundary", () => {
  for (const [service, operations] of ports) {
    it.effect(`${service}: with no tracer installed, no operation creates a span (the backend runs under the caller's)`, () =>
      Effect.gen(function*() {
        for (const [method, call] of operations()) {
          seen.length = 0
          yield* Effect.withParentSpan(call, caller)
          expect(seen.length, method).toBeGreaterThan(0)
          expect(seen.every((s) => Option.isSome(s) && s.value === caller), method).toBe(true)
        }
      }))

    it.effect(`${service}: with a tracer installed, each operation's backend runs under the operation's span`, () =>
      Effect.gen(function*() {
        for (const [method, call] of operations()) {
          seen.length = 0
          const { spans, tracer } = recordingTracer()
          yield* Effect.withTracer(Effect.withParentSpan(call, caller), tracer)
          const own = spans.find((s) => s.name === `${service}.${method}`)
          expect(own, method).toBeDefined()
          expect(Option.getOrUndefined(own!.parent), method).toBe(caller)
          // getOrSet's backend calls run in its get and set spans, each a child of it
          expect(seen.every((s) => Option.isSome(s) && s.value !== caller && spans.includes(s.value as Tracer.Span)), method).toBe(true)
        }
      }))

    it.effect(`${service}: a tracer installed but disabled creates no span`, () =>
      Effect.gen(function*() {
        const { spans, tracer } = recordingTracer()
        for (const [, call] of operations()) {
          seen.length = 0
          yield* Effect.withTracerEnabled(Effect.withTracer(Effect.withParentSpan(call, caller), tracer), false)
          expect(seen.every((s) => Option.isSome(s) && s.value === caller)).toBe(true)
        }
        expect(spans).toEqual([])
      }))
  }
})
