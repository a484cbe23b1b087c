import { expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TraceRepository } from "../../src/index.js"
import { MemoryTraceRepository } from "../../src/memory/index.js"
import { purgeCases } from "../support/purge.js"

// deleteTracesBefore in rounds of `deleteChunk` traces on the memory engine (other fibers run between rounds).
const withChunk = (deleteChunk: number) => Effect.provide(MemoryTraceRepository.layer({ deleteChunk }))

it.effect("a purge of more traces than one chunk (25, chunk 10) deletes them all; later traces stay", () =>
  Effect.gen(function*() {
    const repo = yield* TraceRepository.TraceRepository
    const { before, kept, old, tenantId } = yield* purgeCases(repo, 25, 3)
    expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(old.length)
    expect((yield* repo.getStats(tenantId)).totalTraces).toBe(kept.length)
    expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(0)
  }).pipe(withChunk(10)))

it.effect("exactly one chunk of traces is deleted whole", () =>
  Effect.gen(function*() {
    const repo = yield* TraceRepository.TraceRepository
    const { before, tenantId } = yield* purgeCases(repo, 10, 0)
    expect(yield* repo.deleteTracesBefore(tenantId, before)).toBe(10)
    expect((yield* repo.getStats(tenantId)).totalTraces).toBe(0)
  }).pipe(withChunk(10)))

it.effect("refuses a chunk that is not a whole number >= 1", () =>
  Effect.gen(function*() {
    for (const deleteChunk of [0, -1, 2.5, Number.NaN]) {
      const error = yield* Effect.flip(MemoryTraceRepository.make({ deleteChunk }))
      expect(error).toMatchObject({ _tag: "InvalidInput", path: ["deleteChunk"] })
    }
  }))
