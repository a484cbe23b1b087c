import * as Effect from "effect/Effect"
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
