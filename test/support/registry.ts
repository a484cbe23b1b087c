import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { Readable } from "node:stream"
import type { ReadableStream } from "node:stream/web"

/**
 * An npm registry on 127.0.0.1 that knows one package more than `upstream` (the registry npm is configured with): the
 * packed tarball of `manifest` (its package.json), as if it were published. Every other request goes to `upstream`,
 * so `npm install <name> …` resolves our package and everything else (peers, their versions) as a user's npm would.
 */
export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string
  readonly close: () => Promise<void>
}

export const localRegistry = (tarball: string, manifest: Record<string, unknown> & { name: string; version: string }, upstream: string): Promise<LocalRegistry> =>
  new Promise((resolve, reject) => {
    const bytes = readFileSync(tarball)
    const integrity = `sha512-${createHash("sha512").update(bytes).digest("base64")}`
    const shasum = createHash("sha1").update(bytes).digest("hex")
    const file = `/${manifest.name}/-/${path.basename(tarball)}`
    const base = upstream.endsWith("/") ? upstream : `${upstream}/`
    // What a registry keeps of a published manifest: no devDependencies, nothing for npm to run at install but what
    // the package declares (`prepare` is never run for a registry tarball).
    const { devDependencies: _dev, ...published } = manifest
    const server = http.createServer((request, response) => {
      const url = request.url ?? "/"
      const local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      if (url === `/${manifest.name}`) {
        response.writeHead(200, { "content-type": "application/json" })
        return response.end(JSON.stringify({
          name: manifest.name,
          "dist-tags": { latest: manifest.version },
          versions: { [manifest.version]: { ...published, _id: `${manifest.name}@${manifest.version}`, dist: { tarball: `${local}${file}`, integrity, shasum } } }
        }))
      }
      if (url === file) {
        response.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length })
        return response.end(bytes)
      }
      const headers: Record<string, string> = {}
      for (const name of ["accept", "npm-command", "user-agent"]) {
        const value = request.headers[name]
        if (typeof value === "string") headers[name] = value
      }
      fetch(new URL(url.slice(1), base), { headers }).then(
        (answer) => {
          response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/octet-stream" })
          if (answer.body === null) return response.end()
          Readable.fromWeb(answer.body as ReadableStream<Uint8Array>).on("error", () => response.destroy()).pipe(response)
        },
        () => {
          response.writeHead(502)
          response.end()
        }
      )
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      }))
  })
