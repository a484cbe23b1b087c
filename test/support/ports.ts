import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as net from "node:net"

/** A port nothing listens on right now: bind port 0, read the port the kernel chose, close. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))))
    })
  })

/** {@link freePort} as an Effect: an address that refuses connections. */
export const closedPort: Effect.Effect<number> = Effect.promise(freePort)

export interface SilentServer {
  readonly port: number
  /** Resolves when the first connection arrives: a client is then waiting on it. */
  readonly connected: Promise<void>
  /** Drops every connection it holds and stops listening. */
  readonly close: () => Promise<void>
}

/** A server that accepts connections and never answers a byte, as a frozen server does. */
export const silentServer = (): Promise<SilentServer> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    let onConnection = () => {}
    const connected = new Promise<void>((resolve) => (onConnection = resolve))
    const server = net.createServer((socket) => {
      sockets.add(socket)
      onConnection()
      socket.on("close", () => sockets.delete(socket))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      const close = () =>
        new Promise<void>((done) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => done())
        })
      resolve({ port, connected, close })
    })
  })

/** {@link silentServer} in a scope: the port of a server that never answers, closed with the scope. */
export const silentPort: Effect.Effect<number, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(Effect.promise(silentServer), (server) => Effect.promise(server.close)),
  (server) => server.port
)
