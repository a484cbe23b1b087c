import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { randomBytes, randomUUID } from "node:crypto"
import { expect, it } from "vitest"
import { MetadataRepository, newTenantId, NewTenant, StorageProfile, TraceWriter } from "../../src/index.js"
import * as MemoryFileSystem from "../../src/internal/memory/MemoryFileSystem.js"
import * as OtlpReceiver from "../../src/otlp/OtlpReceiver.js"
import { freePort } from "../support/ports.js"

/**
 * Ten exporters push far more than the store takes (a sink that needs 50 ms a batch of 100): the receiver answers
 * 429 with Retry-After instead of holding what it cannot store, so memory stays bounded while ~400 MB are offered,
 * and every span it accepted (200) is stored.
 */
it("under 10 concurrent exporters faster than the store: 429 with Retry-After, bounded memory, every accepted span stored", async () => {
  let stored = 0
  const slowSink = Layer.succeed(TraceWriter.TraceSink, {
    storeSpans: (spans) => Effect.zipRight(Effect.sleep("50 millis"), Effect.sync(() => void (stored += spans.length))),
    storeTraces: () => Effect.void
  })
  const writer = TraceWriter.layer({ batchSize: 100, capacity: 500, flushInterval: "20 millis", concurrency: 1, deadLetterPath: "/dead-letters" }).pipe(Layer.provide(Layer.merge(slowSink, MemoryFileSystem.layer)))
  // The memory profile for the token lookup; its own writer is replaced by the slow one (the right side of merge wins).
  const metadata = StorageProfile.layer({ profile: "memory" })
  const port = await freePort()
  const receiver = OtlpReceiver.layer({ port, maxConcurrentRequests: 4, maxBufferedSpans: 400 })
  const runtime = ManagedRuntime.make(Layer.provideMerge(receiver, Layer.merge(metadata, writer)))
  const token = `bp-${randomUUID()}`
  await runtime.runPromise(Effect.flatMap(MetadataRepository.MetadataRepository, (m) => m.createTenant(NewTenant.make({ id: newTenantId(), name: "bp", apiToken: token, plan: "free" }))))

  const prompt = "p".repeat(10_000)
  // One body for every request (ids repeat; the sink only counts): the exporters' own memory stays constant, so
  // what grows is the receiver's.
  const shared = JSON.stringify({
    resourceSpans: [{
      scopeSpans: [{
        spans: Array.from({ length: 200 }, () => ({
          traceId: randomBytes(16).toString("hex"),
          spanId: randomBytes(8).toString("hex"),
          name: "chat",
          startTimeUnixNano: "1700000000000000000",
          attributes: [{ key: "gen_ai.input.messages", value: { stringValue: prompt } }]
        }))
      }]
    }]
  })
  const body = () => shared
  const statuses = new Map<number, number>()
  let accepted = 0
  let offeredBytes = 0
  let retryAfterSeen = true
  const baseline = process.memoryUsage()
  // The peak of each quarter of the run (by requests answered): bounded memory has no upward trend.
  const quarters = [0, 0, 0, 0]
  let answered = 0
  const sampler = setInterval(() => {
    const m = process.memoryUsage()
    const q = Math.min(3, Math.floor(answered / 50))
    quarters[q] = Math.max(quarters[q]!, m.heapUsed + m.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers)
  }, 10)
  const exporter = async () => {
    for (let i = 0; i < 20; i++) {
      const payload = body()
      offeredBytes += payload.length
      const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, { method: "POST", body: payload, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } })
      await res.arrayBuffer()
      answered++
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      if (res.status === 200) accepted += 200
      if (res.status === 429 && res.headers.get("retry-after") !== "1") retryAfterSeen = false
    }
  }
  await Promise.all(Array.from({ length: 10 }, exporter))
  clearInterval(sampler)
  await runtime.runPromise(Effect.flatMap(TraceWriter.TraceWriter, (w) => w.flush))
  await runtime.dispose()

  expect([...statuses.keys()].sort()).toEqual([200, 429])
  expect(retryAfterSeen).toBe(true)
  expect(stored).toBe(accepted)
  expect(offeredBytes).toBeGreaterThan(390_000_000)
  // Held at once: 4 requests' bodies and their decoded spans (~2 MB each, a few copies) plus 500 buffered spans, and
  // garbage the collector has not taken yet. An unbounded queue would hold the ~400 MB offered and grow by quarter.
  const mb = quarters.map((q) => Math.round(q / 2 ** 20))
  expect(Math.max(...quarters)).toBeLessThan(offeredBytes / 2)
  expect(mb[3]!, `peaks by quarter (MB): ${mb.join(", ")}`).toBeLessThan(mb[0]! * 1.5 + 32)
}, 300_000)
