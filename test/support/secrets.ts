import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { inspect } from "node:util"
import { vi } from "vitest"

/** Passwords that need URL encoding; each secret is searched for raw and encoded. */
export const secret = (name: string): string => `Zq9!${name}@pw/:%x`

/** The forms a password can take in text: as given, URL-encoded, and its distinctive core. */
const formsOf = (password: string): ReadonlyArray<string> => [password, encodeURIComponent(password), password.slice(0, password.indexOf("@"))]

/** Every way an error is turned into text by a caller or a logger. */
export const renderings = (error: unknown): ReadonlyArray<string> => [
  error instanceof Error ? error.message : "",
  String(error),
  JSON.stringify(error) ?? "",
  inspect(error, { depth: 10 }),
  Cause.pretty(Cause.fail(error))
]

/** The texts that contain any form of any of the passwords. */
export const leaks = (texts: ReadonlyArray<string>, passwords: ReadonlyArray<string>): ReadonlyArray<string> =>
  texts.filter((t) => passwords.some((p) => formsOf(p).some((f) => t.includes(f))))

/**
 * Captures, for the scope's lifetime, every Effect log line (at every level, with its cause) of the
 * effects run under {@link logged} and everything written through `console` or to stdout/stderr.
 */
export const captureOutput: Effect.Effect<{ readonly texts: Array<string>; readonly logger: Layer.Layer<never> }, never, Scope.Scope> =
  Effect.gen(function*() {
    const texts: Array<string> = []
    const logger = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ cause, logLevel, message }) => void texts.push(`${logLevel.label} ${inspect(message, { depth: 10 })} ${Cause.pretty(cause)}`))
    )
    const spies = yield* Effect.acquireRelease(
      Effect.sync(() => [
        ...(["log", "info", "warn", "error", "debug", "trace"] as const).map((level) =>
          vi.spyOn(console, level).mockImplementation((...args: Array<unknown>) => void texts.push(args.map((a) => inspect(a, { depth: 10 })).join(" ")))
        ),
        vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => texts.push(String(chunk)) > 0),
        vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => texts.push(String(chunk)) > 0)
      ]),
      (spies) => Effect.sync(() => spies.forEach((s) => s.mockRestore()))
    )
    void spies
    return { texts, logger: Layer.merge(logger, Logger.minimumLogLevel(LogLevel.All)) }
  })


/**
 * A TCP server that accepts connections and never answers, held open for the scope; its sockets
 * are destroyed and the server closed when the scope closes. Returns its port.
 */
export const silentServer: Effect.Effect<{ readonly port: number; readonly connections: () => number }, never, Scope.Scope> =
  Effect.acquireRelease(
    Effect.async<{ server: net.Server; sockets: Set<net.Socket>; port: number }>((resume) => {
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => undefined)
        socket.on("close", () => sockets.delete(socket))
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, sockets, port: typeof address === "object" && address !== null ? address.port : 1 }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ port, sockets }) => ({ port, connections: () => sockets.size })))
