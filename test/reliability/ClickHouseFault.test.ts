import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import type * as net from "node:net"
import { newTenantId, TraceQuery, TraceRepository } from "../../src/index.js"
import { ClickHouseClient, ClickHouseTraceRepository } from "../../src/clickhouse/index.js"
import { closedPort } from "../support/ports.js"
import { silentServer } from "../support/secrets.js"
import * as Redacted from "effect/Redacted"

/**
 * A stand-in for a ClickHouse server on a fixed port: `down` (nothing listens: connections are
 * refused), `silent` (accepts and never answers) or `up` (answers every query with one `{"ok":1}` row).
 * Closed with its scope, open sockets destroyed.
 */
const fakeServer = (port: number) =>
  Effect.gen(function*() {
    let mode: "silent" | "up" = "silent"
    const sockets = new Set<net.Socket>()
    const server = http.createServer((req, res) => {
      req.resume()
      if (mode === "up") req.on("end", () => res.writeHead(200, { "Content-Type": "application/x-ndjson" }).end("{\"ok\":1}\n"))
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    let listening = false
    const stop = Effect.async<void>((resume) => {
      if (!listening) return resume(Effect.void)
      listening = false
      for (const s of sockets) s.destroy()
      server.close(() => resume(Effect.void))
    })
    yield* Effect.addFinalizer(() => stop)
    return {
      listen: (next: "silent" | "up") =>
        Effect.async<void>((resume) => {
          mode = next
          if (listening) return resume(Effect.void)
          listening = true
          server.listen(port, "127.0.0.1", () => resume(Effect.void))
        }),
      answer: Effect.sync(() => void (mode = "up")),
      stop
    }
  })

/** Runs `self`, failing the test if it takes longer than `ms` (a hang), and returns its error and duration. */
const failsWithin = <A, E>(ms: number, self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const error = yield* Effect.flip(self).pipe(
      Effect.timeoutFail({ duration: ms, onTimeout: () => new Error(`no answer and no error within ${ms} ms: a hang`) }),
      Effect.orDie
    )
    return { error, ms: Date.now() - start }
  })

describe("ClickHouse server faults", () => {
  it.scopedLive("a URL that refuses connections: building fails with StorageUnavailable at once; a client built without verification recovers when the server comes up", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const url = Redacted.make(`http://127.0.0.1:${port}`)
      const built = yield* failsWithin(5_000, Layer.build(ClickHouseClient.layer({ url, connectTimeout: "2 seconds", requestTimeout: "2 seconds" })).pipe(Effect.scoped))
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(built.error.message).toContain(`127.0.0.1:${port}`)

      const context = yield* Layer.build(
        ClickHouseTraceRepository.layer({ skipSchemaCheck: true }).pipe(Layer.provide(ClickHouseClient.layer({ url, verify: false, requestTimeout: "2 seconds" })))
      )
      const repo = yield* TraceRepository.TraceRepository.pipe(Effect.provide(context))
      const query = yield* failsWithin(5_000, repo.querySpans(TraceQuery.make({ tenantId: newTenantId() })))
      expect(query.error._tag).toBe("StorageUnavailable")
      expect((yield* failsWithin(5_000, repo.healthCheck())).error._tag).toBe("StorageUnavailable")

      // The server comes up on that port: the same layer answers.
      const server = yield* fakeServer(port)
      yield* server.listen("up")
      yield* repo.healthCheck()
      // And goes down again: typed failure, then back.
      yield* server.stop
      expect((yield* failsWithin(5_000, repo.healthCheck())).error._tag).toBe("StorageUnavailable")
      yield* server.listen("up")
      yield* repo.healthCheck()
    }), 60_000)

  it.scopedLive("a server that accepts and never answers: building fails with StorageUnavailable within connectTimeout; queries within requestTimeout; the same layer recovers when it answers", () =>
    Effect.gen(function*() {
      const held = yield* silentServer
      const built = yield* failsWithin(6_000, Layer.build(ClickHouseClient.layer({ url: Redacted.make(`http://127.0.0.1:${held.port}`), connectTimeout: "1 second", requestTimeout: "30 seconds" })).pipe(Effect.scoped))
      expect(built.error._tag).toBe("StorageUnavailable")
      expect(built.error.message).toContain("did not answer within 1s")

      const port = yield* closedPort
      const server = yield* fakeServer(port)
      yield* server.listen("silent")
      const context = yield* Layer.build(
        ClickHouseTraceRepository.layer({ skipSchemaCheck: true }).pipe(
          Layer.provide(ClickHouseClient.layer({ url: Redacted.make(`http://127.0.0.1:${port}`), verify: false, requestTimeout: "1 second" }))
        )
      )
      const repo = yield* TraceRepository.TraceRepository.pipe(Effect.provide(context))
      for (let i = 0; i < 3; i++) {
        const hung = yield* failsWithin(6_000, repo.querySpans(TraceQuery.make({ tenantId: newTenantId() })))
        expect(hung.error._tag).toBe("StorageUnavailable")
      }
      const health = yield* failsWithin(6_000, repo.healthCheck())
      expect(health.error._tag).toBe("StorageUnavailable")
      // The server starts answering: the same layer works again.
      yield* server.answer
      yield* repo.healthCheck()
    }), 60_000)

  it.scopedLive("a read outlasting the repository's own timeout (shorter than the client's) fails with StorageUnavailable within it", () =>
    Effect.gen(function*() {
      const held = yield* silentServer
      const context = yield* Layer.build(
        ClickHouseTraceRepository.layer({ skipSchemaCheck: true, timeout: "1 second" }).pipe(
          Layer.provide(ClickHouseClient.layer({ url: Redacted.make(`http://127.0.0.1:${held.port}`), verify: false, requestTimeout: "60 seconds" }))
        )
      )
      const repo = yield* TraceRepository.TraceRepository.pipe(Effect.provide(context))
      const tenantId = newTenantId()
      for (const read of [repo.getStats(tenantId), repo.queryTraces(TraceQuery.make({ tenantId })), repo.healthCheck()]) {
        const hung = yield* failsWithin(6_000, read)
        expect(hung.error._tag).toBe("StorageUnavailable")
        expect(hung.error.message).toMatch(/did not answer within (1s|\d+ms)/)
      }
    }), 60_000)
})
