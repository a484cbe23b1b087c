import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createServer } from "node:http"
import * as TraceWriter from "../ingest/TraceWriter.js"
import * as OtlpReceiver from "../otlp/OtlpReceiver.js"
import { storage } from "./Storage.js"

/** How long requests still open at shutdown may go on before their connections are closed. */
const shutdownGrace = 5_000

/**
 * The receiver (as `OtlpReceiver.layer` builds it) on a server this command holds. Closing a Node server waits for
 * every open connection, so a client stalled mid-request would hold the process until Node's request timeout (5
 * minutes), with what other requests wrote still unflushed: at shutdown, idle connections close at once and those
 * still open after {@link shutdownGrace} are closed (their exporters retry; nothing of theirs was accepted).
 */
const receiver = (host: string, port: number) =>
  Layer.suspend(() => {
    const server = createServer()
    const cutOff = Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.sync(() => {
        server.closeIdleConnections()
        setTimeout(() => server.closeAllConnections(), shutdownGrace).unref()
      })
    ))
    // Built after the server, so its finalizer runs first: it starts the grace while the server's close waits.
    return cutOff.pipe(
      Layer.provideMerge(Layer.unwrapEffect(Effect.map(OtlpReceiver.make(), (router) => HttpServer.serve(router)))),
      Layer.provide(NodeHttpServer.layer(() => server, { host, port }))
    )
  })

/**
 * `llmtrace-storage serve`: the OTLP/HTTP receiver (src/otlp/OtlpReceiver.ts) on the selected profile's storage.
 * SIGINT or SIGTERM interrupts it: the server stops accepting, then the writer's scope flushes what it accepted.
 */
export const serve = Command.make(
  "serve",
  {
    host: Options.text("host").pipe(Options.withDescription("address to listen on"), Options.withDefault("127.0.0.1")),
    port: Options.integer("port").pipe(Options.withDescription("port to listen on (4318 is OTLP/HTTP's)"), Options.withDefault(4318))
  },
  ({ host, port }) =>
    Effect.gen(function*() {
      yield* Layer.launch(
        receiver(host, port).pipe(
          Layer.tap(() => Console.error(`listening on http://${host}:${port} (OTLP/HTTP: POST /v1/traces, JSON or protobuf; GET /health)`))
        )
      ).pipe(
        Effect.onInterrupt(() =>
          Effect.flatMap(TraceWriter.TraceWriter, (writer) =>
            Effect.flatMap(Effect.either(writer.flush), (flushed) =>
              Console.error(flushed._tag === "Right" ? "stopped: every accepted span is stored" : `stopped: not all accepted spans stored yet: ${flushed.left.message}`)))
        )
      )
    })
).pipe(
  Command.withDescription("receive OpenTelemetry traces over OTLP/HTTP (an API token as Authorization: Bearer names the tenant)"),
  Command.provide(storage)
)
