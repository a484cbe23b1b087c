import type { Session as ChdbSession } from "chdb"
import { randomUUID } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { StorageUnavailable } from "../../src/index.js"
import { ClickHouseClient } from "../../src/clickhouse/index.js"
import { TestStorage } from "../../src/testing/index.js"

/**
 * ClickHouse's HTTP interface over the embedded engine (chDB), so `@clickhouse/client`'s HTTP
 * transport (URL building, credentials, `database`, settings, `param_*` escaping, compression,
 * error parsing) runs on every `npm test` where no ClickHouse server can.
 *
 * What it serves, as the server does:
 * - `GET|HEAD /ping` answers `Ok.`; every other path takes a query.
 * - The query is the `query` URL parameter, the request body, or both (`query` then a newline then
 *   the body, which is how an INSERT sends its rows). GET is read-only (`readonly = 2`), as on the server.
 * - `param_<name>` values, in the URL or as multipart form fields, reach the engine verbatim, as `SET param_<name> = '<text>'`: the engine
 *   parses that text against the placeholder's type with the same escaped-text rules the server
 *   applies to URL parameters, so the client's escaping of hostile strings is really tested.
 * - `database` becomes the current database; `default_format` the output format (TabSeparated by
 *   default); every other URL parameter is a setting (`SET name = 'value'`), except the HTTP-layer
 *   ones the server consumes itself (`enable_http_compression`, `wait_end_of_query`, `http_*`, ...).
 * - Credentials by Basic authentication, `X-ClickHouse-User`/`X-ClickHouse-Key` headers or
 *   `user`/`password` URL parameters (one method at a time), checked against `users`.
 * - Request bodies compressed with gzip/deflate/br are decompressed; responses are gzip-compressed
 *   when `enable_http_compression=1` and the client accepts it.
 * - A failure answers with the server's status for that code, `X-ClickHouse-Exception-Code`, and the
 *   server's body: `Code: N. DB::Exception: ... (NAME) (version ...)`.
 *
 * What it cannot prove (server-only behaviour; the hosted CI's compose job covers it): `async_insert`,
 * replication and `ON CLUSTER`, HTTP sessions (`session_id`, refused here), external tables,
 * the refusal of multi-statement queries (the engine runs them), mid-stream exceptions, progress
 * headers, quotas, users' grants and profiles.
 */
export interface Options {
  /** Users and their passwords. Default: `default` with an empty password. */
  readonly users?: Readonly<Record<string, string>>
  /** The engine's data directory. Default: a temporary directory, removed on close. */
  readonly path?: string
}

export interface Fixture {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** How many requests it has answered (a test can prove the HTTP path was taken). */
  readonly requests: () => number
  /** How many of them carried a multipart body. */
  readonly multipartRequests: () => number
}

/** URL parameters the server reads itself; everything else is a setting. */
const reserved = new Set([
  "query", "database", "default_format", "user", "password", "quota_key", "query_id", "session_id", "session_timeout",
  "session_check", "compress", "decompress", "buffer_size", "stacktrace", "role", "client_protocol_version"
])
/** Settings the HTTP layer consumes; the embedded engine does not know them. */
const httpLayer = (name: string): boolean =>
  name === "enable_http_compression" || name === "wait_end_of_query" || name === "send_progress_in_http_headers" ||
  name === "cancel_http_readonly_queries_on_client_close" || name.startsWith("http_")

/** The server's HTTP status for an exception code (the subset our client can meet; see HTTPHandler). */
const statusOf = (code: number): number => {
  if (code === 194) return 401 // REQUIRED_PASSWORD
  if ([192, 193, 497, 516].includes(code)) return 403 // UNKNOWN_USER, WRONG_PASSWORD, ACCESS_DENIED, AUTHENTICATION_FAILED
  if ([6, 26, 27, 32, 38, 41, 62, 69, 70, 72, 117, 456, 457].includes(code)) return 400 // parse errors, SYNTAX_ERROR, query parameters
  if ([46, 47, 50, 60, 73, 81, 115].includes(code)) return 404 // UNKNOWN_FUNCTION/IDENTIFIER/TYPE/TABLE/FORMAT/DATABASE/SETTING
  if (code === 48) return 501 // NOT_IMPLEMENTED
  return 500
}

class HttpFailure extends Error {
  constructor(readonly code: number, readonly name_: string, message: string) {
    super(`Code: ${code}. DB::Exception: ${message}. (${name_})`)
  }
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/
/** A SQL string literal holding `text` exactly (the engine un-escapes it once; the type parser then sees `text`). */
const literal = (text: string): string => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`

const readBody = (request: http.IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

const decompress = (body: Buffer, encoding: string | undefined): Buffer => {
  switch (encoding ?? "") {
    case "":
    case "identity":
      return body
    case "gzip":
      return zlib.gunzipSync(body)
    case "deflate":
      return zlib.inflateSync(body)
    case "br":
      return zlib.brotliDecompressSync(body)
    default:
      throw new HttpFailure(48, "NOT_IMPLEMENTED", `Unknown Content-Encoding of HTTP request: ${encoding}`)
  }
}

/** The user the request authenticates as, by exactly one of the server's three methods. */
const authenticate = (request: http.IncomingMessage, params: URLSearchParams, users: Readonly<Record<string, string>>): string => {
  const methods: Array<[string, string]> = []
  const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? "")
  if (basic) {
    const decoded = Buffer.from(basic[1]!, "base64").toString("utf8")
    const colon = decoded.indexOf(":")
    methods.push(colon < 0 ? [decoded, ""] : [decoded.slice(0, colon), decoded.slice(colon + 1)])
  }
  const headerUser = request.headers["x-clickhouse-user"]
  if (typeof headerUser === "string") {
    const key = request.headers["x-clickhouse-key"]
    methods.push([headerUser, typeof key === "string" ? key : ""])
  }
  if (params.has("user") || params.has("password")) methods.push([params.get("user") ?? "default", params.get("password") ?? ""])
  if (methods.length > 1) {
    throw new HttpFailure(516, "AUTHENTICATION_FAILED", "Invalid authentication: it is not allowed to use more than one authentication method simultaneously")
  }
  const [user, password] = methods[0] ?? ["default", ""]
  if (!Object.hasOwn(users, user) || users[user] !== password) {
    throw new HttpFailure(516, "AUTHENTICATION_FAILED", `${user}: Authentication failed: password is incorrect, or there is no user with such name`)
  }
  return user
}

/** Runs one request's statements on a session of its own, so settings, parameters and `USE` never leak. */
const execute = async (Session: typeof ChdbSession, path: string, statements: ReadonlyArray<string>, query: string, format: string) => {
  const session = new Session(path)
  try {
    for (const statement of statements) await session.queryAsync(statement, { format: "TabSeparated" })
    return await session.queryAsync(query, { format })
  } finally {
    session.close()
  }
}

const failureOf = (error: unknown): HttpFailure => {
  if (error instanceof HttpFailure) return error
  const message = error instanceof Error ? error.message : String(error)
  const match = /Code: (\d+)\. DB::Exception: ([\s\S]*?)(?:\. \(([A-Z_0-9]+)\))?\s*$/.exec(message)
  return match
    ? new HttpFailure(Number(match[1]), match[3] ?? "UNKNOWN_EXCEPTION", match[2]!.replace(/\.$/, ""))
    : new HttpFailure(1001, "STD_EXCEPTION", message)
}

/** Starts the fixture on a free port of 127.0.0.1; closing the scope stops it and removes its temporary directory. */
export const serve = (options: Options = {}): Effect.Effect<Fixture, never, Scope.Scope> =>
  Effect.flatMap(
    options.path === undefined ? Effect.orDie(TestStorage.temporaryDirectory("clickhouse-http-")) : Effect.succeed(options.path),
    (path) => serveIn(path, options)
  )

/** The fixture on the data directory `path` (removed, when temporary, by the scope that made it, after the session closes). */
const serveIn = (path: string, options: Options): Effect.Effect<Fixture, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const { Session } = await import("chdb")
      const users = options.users ?? { default: "" }
      // The engine binds one data directory per process: this session holds it open between requests.
      const anchor = new Session(path)
      let requests = 0
      let multipart = 0
      const version = "chdb"

      const handle = async (request: http.IncomingMessage, response: http.ServerResponse) => {
        requests++
        const url = new URL(request.url ?? "/", "http://fixture")
        const body = await readBody(request)
        if (url.pathname === "/ping") {
          response.writeHead(200, { "Content-Type": "text/plain; charset=UTF-8" }).end(request.method === "HEAD" ? undefined : "Ok.\n")
          return
        }
        const params = url.searchParams
        const queryId = params.get("query_id") ?? randomUUID()
        const format = params.get("default_format") ?? "TabSeparated"
        try {
          authenticate(request, params, users)
          if (params.has("session_id")) throw new HttpFailure(48, "NOT_IMPLEMENTED", "HTTP sessions are not served by this fixture")
          const decompressed = decompress(body, request.headers["content-encoding"])
          const contentType = request.headers["content-type"] ?? ""
          let text = decompressed.toString("utf8")
          if (/^multipart\/form-data/i.test(contentType)) {
            // Parameters too long for a URL arrive as form fields, beside the query (clickhouse-js `use_multipart_params`).
            multipart++
            text = ""
            const form = await new Response(decompressed, { headers: { "content-type": contentType } }).formData()
            for (const [name, value] of form) {
              if (typeof value !== "string") continue
              if (name === "query") text = value
              else if (name.startsWith("param_")) params.set(name, value)
            }
          }
          const inUrl = params.get("query")
          const query = inUrl === null ? text : text === "" ? inUrl : `${inUrl}\n${text}`
          if (query.trim() === "") throw new HttpFailure(62, "SYNTAX_ERROR", "Empty query")
          const statements: Array<string> = []
          if (request.method === "GET") statements.push("SET readonly = 2")
          for (const [name, value] of params) {
            if (reserved.has(name) || httpLayer(name)) continue
            if (!identifier.test(name)) throw new HttpFailure(115, "UNKNOWN_SETTING", `Unknown setting '${name}'`)
            statements.push(`SET ${name} = ${literal(value)}`)
          }
          const database = params.get("database")
          if (database !== null) {
            if (!identifier.test(database)) throw new HttpFailure(81, "UNKNOWN_DATABASE", `Database ${database} does not exist`)
            statements.push(`USE ${database}`)
          }
          const result = await execute(Session, path, statements, query, format)
          const headers: Record<string, string> = {
            "Content-Type": format.startsWith("JSON") ? "application/json; charset=UTF-8" : "text/tab-separated-values; charset=UTF-8",
            "X-ClickHouse-Format": format,
            "X-ClickHouse-Query-Id": queryId,
            "X-ClickHouse-Timezone": "UTC",
            "X-ClickHouse-Server-Display-Name": "clickhouse-http-fixture",
            "X-ClickHouse-Summary": JSON.stringify({
              read_rows: String(result.rowsRead),
              read_bytes: String(result.bytesRead),
              written_rows: "0",
              written_bytes: "0",
              total_rows_to_read: "0",
              result_rows: "0",
              result_bytes: "0",
              elapsed_ns: String(Math.round(result.elapsed * 1e9))
            })
          }
          let payload = Buffer.from(result.bytes())
          if (params.get("enable_http_compression") === "1" && /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""))) {
            payload = zlib.gzipSync(payload)
            headers["Content-Encoding"] = "gzip"
          }
          response.writeHead(200, headers).end(payload)
        } catch (error) {
          const failure = failureOf(error)
          response.writeHead(statusOf(failure.code), {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": String(failure.code),
            "X-ClickHouse-Query-Id": queryId
          }).end(`${failure.message} (version ${version})\n`)
        }
      }

      const server = http.createServer((request, response) => {
        handle(request, response).catch((error: unknown) => {
          // A defect of the fixture itself: answer it, never leave the client hanging.
          if (!response.headersSent) response.writeHead(500, { "X-ClickHouse-Exception-Code": "1001" })
          response.end(`Code: 1001. DB::Exception: fixture failure: ${String(error)}. (STD_EXCEPTION)\n`)
        })
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const port = (server.address() as AddressInfo).port
      const close = async () => {
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        anchor.close()
      }
      return { fixture: { url: `http://127.0.0.1:${port}`, requests: () => requests, multipartRequests: () => multipart }, close }
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ fixture }) => fixture))

/** A password for the fixture's test user: the client must send it for any query to pass. */
export const password = "fixture-password-\u00e9'\"%&"

/**
 * A ClickHouse client over HTTP to a fresh fixture, as user `llmtrace` with {@link password}: the
 * layer a suite runs on in place of a server.
 */
export const client = (database: string): Layer.Layer<ClickHouseClient.ClickHouseClient, StorageUnavailable> =>
  Layer.unwrapScoped(
    Effect.map(serve({ users: { llmtrace: password } }), (fixture) =>
      ClickHouseClient.layer({ url: Redacted.make(fixture.url), database, username: "llmtrace", password: Redacted.make(password) }))
  )
