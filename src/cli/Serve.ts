import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TraceWriter from "../ingest/TraceWriter.js"
import * as OtlpReceiver from "../otlp/OtlpReceiver.js"
import { storage } from "./Storage.js"

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
        OtlpReceiver.layer({ host, port }).pipe(
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
