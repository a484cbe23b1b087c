import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type * as net from "node:net"

/**
 * What the proxy does to one request in its fault window, as a load balancer in front of ClickHouse
 * does when the server behind it restarts or is overloaded:
 * - `502`, `503`, `504`: answers that status with the proxy's own HTML page (no ClickHouse header or code);
 * - `reset`: resets the connection (TCP RST) as soon as the request arrives, before any answer;
 * - `reset-request-body`: reads the first chunk of the request's body, then resets (the server never sees the batch);
 * - `reset-response-body`: forwards the request, passes on the server's status, headers and body
 *   but for the chunked body's end, then resets: the server did store the batch, the client cannot know it.
 */
export type Fault = "502" | "503" | "504" | "reset" | "reset-request-body" | "reset-response-body"

export const allFaults: ReadonlyArray<Fault> = ["502", "503", "504", "reset", "reset-request-body", "reset-response-body"]

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** The next `n` requests get a fault each, taken in turn from `faults`; then requests pass through again. */
  readonly failNext: (n: number, faults?: ReadonlyArray<Fault>) => void
  /** Ends the fault window now. */
  readonly passThrough: () => void
  /** What reached the proxy: every request, the INSERTs among them, and the faults it injected. */
  readonly counts: () => { readonly requests: number; readonly inserts: number; readonly faults: number }
  readonly resetCounts: () => void
}

const page = (status: number) =>
  `<html>\r\n<head><title>${status} ${http.STATUS_CODES[status]}</title></head>\r\n<body>\r\n<center><h1>${status} ${
    http.STATUS_CODES[status]
  }</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

/** A TCP reset where the platform has one (Node >= 16.17), else a plain destroy. */
const reset = (socket: net.Socket) => {
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy()
  else socket.destroy()
}

/**
 * A real HTTP reverse proxy on a free port of 127.0.0.1 in front of `upstream` (the ClickHouse HTTP
 * fixture), which injects {@link Fault}s for a window of requests. Stopped with the scope.
 */
export const faultProxy = (upstream: string): Effect.Effect<FaultProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const target = new URL(upstream)
      let window: Array<Fault> = []
      let requests = 0
      let inserts = 0
      let faults = 0
      const agent = new http.Agent({ keepAlive: true })

      const forward = (request: http.IncomingMessage, onResponse: (upstream: http.IncomingMessage) => void) => {
        const out = http.request({
          host: target.hostname,
          port: target.port,
          method: request.method,
          path: request.url,
          headers: { ...request.headers, host: target.host },
          agent
        }, onResponse)
        out.on("error", () => reset(request.socket))
        request.pipe(out)
      }

      const server = http.createServer((request, response) => {
        requests++
        const query = new URL(request.url ?? "/", "http://proxy").searchParams.get("query") ?? ""
        if (/^\s*INSERT\b/i.test(query)) inserts++
        const fault = window.shift()
        if (fault !== undefined) faults++
        switch (fault) {
          case undefined:
            return forward(request, (answer) => {
              response.writeHead(answer.statusCode ?? 502, answer.headers)
              answer.pipe(response)
            })
          case "502":
          case "503":
          case "504": {
            const status = Number(fault)
            // The body is read (and dropped) first, as a balancer does before it answers.
            request.resume()
            request.on("end", () => response.writeHead(status, { "Content-Type": "text/html", Connection: "close" }).end(page(status)))
            return
          }
          case "reset":
            return reset(request.socket)
          case "reset-request-body":
            request.once("data", () => reset(request.socket))
            request.once("end", () => reset(request.socket))
            return
          case "reset-response-body":
            return forward(request, (answer) => {
              const headers = { ...answer.headers }
              delete headers["content-length"]
              response.writeHead(answer.statusCode ?? 200, { ...headers, "Transfer-Encoding": "chunked" })
              response.flushHeaders()
              // The server's answer is passed on (the insert is done) but for the chunked body's
              // last chunk: the client's connection is cut instead.
              answer.on("data", (chunk: Buffer) => response.write(chunk))
              answer.on("end", () => setTimeout(() => reset(request.socket), 5))
            })
        }
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const port = (server.address() as AddressInfo).port
      const proxy: FaultProxy = {
        url: `http://127.0.0.1:${port}`,
        failNext: (n, list = allFaults) => {
          window = Array.from({ length: n }, (_, i) => list[i % list.length]!)
        },
        passThrough: () => {
          window = []
        },
        counts: () => ({ requests, inserts, faults }),
        resetCounts: () => {
          requests = 0
          inserts = 0
          faults = 0
        }
      }
      const close = async () => {
        server.closeAllConnections()
        agent.destroy()
        await new Promise<void>((resolve) => server.close(() => resolve()))
      }
      return { proxy, close }
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ proxy }) => proxy))
