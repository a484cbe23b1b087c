import type { ClickHouseClient as NodeClient, createClient } from "@clickhouse/client"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { type StorageQueryError, StorageUnavailable } from "../StorageError.js"
import { classify } from "../internal/clickhouse/ClickHouseErrors.js"
import { withTimeout } from "../internal/Timeout.js"
import * as ConfigFields from "../internal/ConfigFields.js"
import * as DataDirectory from "../internal/DataDirectory.js"
import * as FreedMemory from "../internal/clickhouse/FreedMemory.js"
import * as JsonLines from "../internal/clickhouse/JsonLines.js"
import { Readable } from "node:stream"
import { finished } from "node:stream/promises"

/** Query parameters, bound server-side as `{name:Type}`; never spliced into the SQL text. */
export type Params = Record<string, unknown>

/** Options of one query or statement. */
export interface CallOptions {
  /**
   * A bound for this call tighter than the client's `requestTimeout` (which still applies when it
   * is shorter), e.g. what is left of a repository call's own bound. Not sent to the engine.
   */
  readonly timeout?: Duration.Duration
}

export interface ClickHouseClientShape {
  /** `server` over HTTP(S), or the embedded `chdb` engine in this process. */
  readonly engine: "server" | "chdb"
  /** The URL without its password, for messages and logs. */
  readonly address: string
  /** The database every table lives in; always spliced qualified (chDB ignores the client's `database`). */
  readonly database: string
  /** The official client, for what the helpers below do not cover (benchmarks, raw inserts). */
  readonly client: NodeClient
  /** Rows of a SELECT as JSON objects. `max_execution_time` is added inline: it is what stops chDB work. */
  readonly query: <A>(operation: string, sql: string, params?: Params, options?: CallOptions) => Effect.Effect<Array<A>, StorageUnavailable | StorageQueryError>
  /** A statement without result rows (DDL, DELETE), with `max_execution_time` as a setting. */
  readonly command: (operation: string, sql: string, params?: Params, options?: CallOptions) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
  /** Inserts rows as `JSONEachRow` into a qualified table, with `max_execution_time` as a setting. */
  readonly insert: (operation: string, table: string, rows: ReadonlyArray<object>) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
  /**
   * Inserts items as `JSONCompactEachRow`, each written by `format` straight into the body: the hot
   * path never holds its batch as an array of rows, nor the body or a row as a string (see `JsonLines`).
   */
  readonly insertRows: <A>(operation: string, table: string, items: ReadonlyArray<A>, format: JsonLines.RowFormat<A>) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
  /** Inserts a body encoded beforehand, as it is (the engine's own limit, in the benchmarks). The caller keeps the bytes. */
  readonly insertBody: (operation: string, table: string, body: InsertBody) => Effect.Effect<void, StorageUnavailable | StorageQueryError>
}

/** An encoded insert body: its bytes, their format, and the columns they fill (all, when absent). */
export interface InsertBody {
  readonly bytes: Buffer
  readonly format: "JSONEachRow" | "JSONCompactEachRow" | "TabSeparated"
  readonly columns?: ReadonlyArray<string>
}

/** A body, whether its storage is ours to reuse once the engine is done with it, and its row count when known. */
interface Body extends InsertBody {
  readonly owned: boolean
  readonly rows?: number
}

export class ClickHouseClient extends Context.Tag("llmtrace-storage/ClickHouseClient")<ClickHouseClient, ClickHouseClientShape>() {}

export interface Options {
  /** `http(s)://host:port`, `chdb:<dir>` (embedded, on disk) or `chdb::memory:` (embedded, temporary); `Redacted`, as it may hold a password. */
  readonly url: Redacted.Redacted
  readonly database?: string
  readonly username?: string
  readonly password?: Redacted.Redacted<string>
  /**
   * Upper bound of every call (an Effect timeout, on both transports) and its `max_execution_time`.
   * Default 30 s. On chDB a call that times out keeps running in the engine until it ends or
   * `max_execution_time` stops it; closing the client waits for it.
   */
  readonly requestTimeout?: Duration.DurationInput
  /** How long building the layer waits for the first answer. Default 10 s. */
  readonly connectTimeout?: Duration.DurationInput
  /** HTTP compression of requests and responses (server only). Default true. */
  readonly compression?: boolean
  /** Check the connection when the layer is built. Default true. */
  readonly verify?: boolean
}

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Checks a database name before it is spliced into SQL (identifiers cannot be bound parameters). */
export const validDatabase = (database: string): boolean => identifier.test(database)

/** The URL as it may be printed: the password is removed. */
export const redactUrl = (url: string): string => {
  if (url.startsWith("chdb:")) return url
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = ""
    return parsed.toString().replace(/\/$/, "")
  } catch {
    return "<unparsable URL>"
  }
}

/**
 * Credentials written into a server URL (`http://user:password@host:8123`) are taken out of it and
 * passed as options, where they win over the configured user and password: the URL the client keeps
 * (and may print) then holds no secret.
 */
const splitCredentials = (url: string) =>
  Effect.try({
    try: () => {
      const parsed = new URL(url)
      const username = parsed.username === "" ? undefined : decodeURIComponent(parsed.username)
      const password = parsed.password === "" ? undefined : decodeURIComponent(parsed.password)
      parsed.username = ""
      parsed.password = ""
      return { url: parsed.toString(), username, password: username !== undefined && password === undefined ? "" : password }
    },
    catch: () => unavailable("ClickHouseClient.make", `the ClickHouse url is not a valid URL: ${redactUrl(url)}`)
  })

const unavailable = (operation: string, message: string, cause?: unknown) =>
  new StorageUnavailable({ backend: "clickhouse", operation, message, ...(cause === undefined ? {} : { cause }) })

/**
 * Creates the engine's directory and checks that this process may use it. chDB, given a directory it
 * cannot write, prints the reason on the process's stderr itself (its embedded server writes it to
 * `std::cerr`, whatever the logger settings) and then fails with "Failed to create connection" only:
 * checked here first, such a directory is one error, ours, with the reason in it.
 */
const usableDirectory = async (path: string) => {
  const fs = await import("node:fs/promises")
  DataDirectory.make(path)
  await fs.access(path, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK)
  const holder = holderOf(await fs.readFile(`${path}/status`, "utf8").catch(() => ""))
  if (holder !== undefined) {
    throw new Error(
      `it is open in process ${holder} (the engine allows one process per data directory); ` +
        `if that process is not ours, ${path}/status is left from a crash: remove it`
    )
  }
}

/**
 * The live process other than this one that holds the directory, by the `PID:` line of the engine's
 * `status` file (written while a process has it open, removed on close, left behind by a crash).
 * chDB itself refuses a held directory, but prints its own line on stderr first.
 */
const holderOf = (status: string): number | undefined => {
  const pid = Number(/^PID:\s*(\d+)/m.exec(status)?.[1])
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (error) {
    // EPERM: the process exists, under another user
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined
  }
}

/**
 * What this module uses of chDB, declared here: chDB is an optional dependency, and a checkout
 * installed with `--omit=optional` must still build (`npm ci` runs the build).
 */
interface ChdbConnection {
  readonly close: () => Promise<void>
  readonly chdb: {
    readonly rawInsert: (insert: {
      readonly table: string
      readonly values: Buffer
      readonly format: string
      readonly settings: Record<string, number>
      readonly columns?: Array<string>
    }) => Promise<unknown>
  }
}
interface ChdbModules {
  readonly connection: { readonly createChdbConnection: (options: { readonly path: string }) => ChdbConnection }
  readonly root: { readonly drainPending: () => Promise<void> }
}
/** The specifiers in variables, so TypeScript does not resolve them (and needs no chdb to build). */
const chdbSpecifiers = { connection: "chdb/connection", root: "chdb" } as const
const importChdb = <K extends keyof ChdbModules>(k: K): Promise<ChdbModules[K]> => import(chdbSpecifiers[k]) as Promise<ChdbModules[K]>

/**
 * The client library, loaded when a client is made: importing this module, or the package's
 * entries, loads no driver (test/packaging/EntryDrivers.test.ts).
 */
const loadClient = Effect.tryPromise({
  try: () => import("@clickhouse/client"),
  catch: (cause) => unavailable("ClickHouseClient.make", `cannot load @clickhouse/client: ${String(cause)}`, cause)
})

/** Loads chDB only when asked for: it is an optional dependency of about 540 MB. */
const openChdb = (path: string) =>
  Effect.tryPromise({
    try: async (): Promise<ChdbConnection> => {
      const { createChdbConnection } = await importChdb("connection")
      if (path !== ":memory:") await usableDirectory(path)
      return createChdbConnection({ path })
    },
    catch: (cause) =>
      unavailable(
        "ClickHouseClient.make",
        /Cannot find (module|package) 'chdb/.test(String(cause))
          ? "the embedded ClickHouse engine is not installed: run `npm install chdb` (an optional dependency), or use an http(s):// URL"
          : `cannot open the embedded ClickHouse engine at ${path}: ${String(cause)}`,
        cause
      )
  })

/** Waits until no native chDB call is running any more (a timed-out call keeps running in the engine). */
const drainChdb = Effect.promise(async () => (await importChdb("root")).drainPending())

/**
 * Releases the embedded engine: waits (bounded) for the calls still running in it, closes the
 * connection (which removes a `:memory:` engine's temporary directory), then waits for the engine's
 * own deferred teardown. Tearing the engine down under a running call, or exiting the process with a
 * connection open, is what crashed the process (exit 139) and left `chdb-node-mem-*` behind.
 */
const closeChdb = (connection: ChdbConnection, wait: Duration.Duration) =>
  Effect.gen(function*() {
    const drained = yield* Effect.timeout(drainChdb, wait).pipe(Effect.isSuccess)
    if (!drained) {
      yield* Effect.logWarning(`chDB: calls still running in the embedded engine after ${Duration.format(wait)}; closing it anyway`)
    }
    yield* Effect.promise(() => connection.close().catch(() => undefined))
    yield* Effect.timeout(drainChdb, wait).pipe(Effect.ignore)
  })

/**
 * The embedded engine, acquired and released with the scope. Opening it is uninterruptible: a
 * sibling layer that fails while chDB loads (hundreds of milliseconds) no longer leaves a connection
 * opened after its scope closed, which nothing would ever release.
 */
const acquireChdb = (path: string, wait: Duration.Duration) =>
  Effect.acquireRelease(openChdb(path), (connection) => closeChdb(connection, wait))

/**
 * Opens a client: a server for `http(s)://`, the embedded engine for `chdb:`. It answers a query
 * within `connectTimeout` or fails with {@link StorageUnavailable} naming the address; closing the
 * scope closes the client (and, for chDB, releases the data directory for the next opener).
 */
export const make = (options: Options): Effect.Effect<ClickHouseClientShape, StorageUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const operation = "ClickHouseClient.make"
    const url = Redacted.value(options.url)
    const address = redactUrl(url)
    const database = options.database ?? "llmtrace"
    if (!validDatabase(database)) {
      return yield* unavailable(operation, `invalid ClickHouse database name ${JSON.stringify(database)}: use letters, digits and _`)
    }
    const requestTimeout = Duration.decode(options.requestTimeout ?? "30 seconds")
    const connectTimeout = Duration.decode(options.connectTimeout ?? "10 seconds")
    const { ClickHouseLogLevel, createClient, parseError } = yield* loadClient
    const log = { level: ClickHouseLogLevel.OFF }
    let engine: "server" | "chdb"
    let client: NodeClient
    /** Sends an insert body (from `bodies`), as the transport does best. */
    let sendBody: (table: string, body: Body, settings: Record<string, number>, signal: AbortSignal) => Promise<unknown>
    const bodies = JsonLines.make()
    /** What follows a stored insert on this transport (see {@link FreedMemory}). */
    let afterInsert: (body: Body) => Effect.Effect<void> = () => Effect.void
    if (url.startsWith("chdb:")) {
      engine = "chdb"
      const dir = url.slice("chdb:".length)
      if (dir === "") return yield* unavailable(operation, "a chdb: URL needs a directory, e.g. chdb:./data or chdb::memory:")
      const resolved = dir === ":memory:" ? dir : (yield* Effect.promise(() => import("node:path"))).resolve(dir)
      // The release waits for calls still running in the engine: at most one request's bound, and a margin.
      const connection = yield* acquireChdb(resolved, Duration.sum(requestTimeout, Duration.seconds(5)))
      // chdb types its connection against its own copy of client-common: same shape, distinct declarations.
      // Closing the connection is closing this client: it has no other resource.
      client = createClient({ connection: connection as unknown as ClientConnection, log })
      // chDB's own raw insert: the engine parses the Buffer in place. The client's insert would make
      // one string of the statement and the body, copied again by the engine. No abort signal: the
      // promise then settles only when the engine is done with the Buffer (our timeout still returns
      // earlier), so its storage can serve the next body. Its errors take the client's shape (code
      // and type read from the engine's message), as the connection's own calls do, so `classify`
      // reads them alike.
      sendBody = (table, { bytes, columns, format, owned }, settings) =>
        connection.chdb.rawInsert({ table, values: bytes, format, settings, ...(columns === undefined ? {} : { columns: [...columns] }) })
          .finally(() => owned && bodies.release(bytes))
          .catch((cause: unknown) => {
            const mapped = parseError(cause instanceof Error ? cause.message : String(cause))
            mapped.cause = cause
            throw mapped
          })
      const memory = FreedMemory.make()
      // Counted once the insert is stored (this runs after it), not when it is built.
      afterInsert = (body) => Effect.suspend(() => memory.inserted(body.bytes.length, body.rows) ? memory.purge(shape.command) : Effect.void)
    } else if (/^https?:\/\//.test(url)) {
      engine = "server"
      const server = yield* splitCredentials(url)
      client = createClient({
        url: server.url,
        username: server.username ?? options.username ?? "default",
        password: server.password ?? (options.password === undefined ? "" : Redacted.value(options.password)),
        request_timeout: Duration.toMillis(requestTimeout),
        compression: { request: options.compression ?? true, response: options.compression ?? true },
        log
      })
      const http = client
      // The client's `insert` takes JSON formats only as objects: `exec` sends the body as it is
      // (compressed when compression is on), the statement in the URL, as `insert` does. `table` is
      // ours (a checked database and a fixed name). The body is not reused: an aborted request may
      // still hold it in a socket write.
      sendBody = async (table, { bytes, columns, format }, settings, signal) => {
        const result = await http.exec({
          query: `INSERT INTO ${table}${columns === undefined ? "" : ` (${columns.join(", ")})`} FORMAT ${format}`,
          values: Readable.from([bytes], { objectMode: false }),
          clickhouse_settings: settings,
          abort_signal: signal
        })
        // An INSERT answers no rows; the socket is released once the answer is read.
        await finished(result.stream.resume())
      }
      yield* Effect.addFinalizer(() => Effect.promise(() => http.close().catch(() => undefined)).pipe(Effect.timeout("10 seconds"), Effect.ignore))
    } else {
      return yield* unavailable(operation, `unsupported ClickHouse URL ${address}: use http(s)://host:port, chdb:<dir> or chdb::memory:`)
    }

    const maxSeconds = Math.max(1, Math.ceil(Duration.toSeconds(requestTimeout)))
    const withLimit = (sql: string) => (/\bSETTINGS\b[^)]*$/.test(sql) ? sql : `${sql}\nSETTINGS max_execution_time = ${maxSeconds}`)
    // Statements and inserts get the same limit as a setting (an INSERT's SETTINGS would have to go
    // before its FORMAT, which the client or chDB's raw insert writes): over HTTP a URL parameter; on
    // chDB a `SET` before a statement, and `INSERT … SETTINGS … FORMAT` for a raw insert.
    const settings = { max_execution_time: maxSeconds }
    // A batch may hold spans of any number of months, a partition each (a backfill); the engine refuses
    // an insert block of more than 100 partitions by default.
    const insertSettings = { ...settings, max_partitions_per_insert_block: 0 }
    /**
     * Every call is bounded (an insert by an Effect timeout, a query or statement by `call`'s timer),
     * and returns on both transports: chDB ignores the abort signal (its C API cannot interrupt a
     * call), so a timed-out call keeps running in the engine until it ends or `max_execution_time`
     * stops it; closing the client waits for it.
     */
    const server = `ClickHouse at ${address}`
    const bounded = <A>(op: string, self: Effect.Effect<A, StorageUnavailable | StorageQueryError>) =>
      withTimeout(self, { backend: "clickhouse", operation: op, timeout: requestTimeout, server })

    /**
     * A query or statement, bounded by a timer of its own rather than an Effect timeout (which forks
     * two fibers: ~0.2 ms a call on this machine, bench/clickhouse.ts's small tables measure that).
     * On timeout or interruption the call's signal is aborted, as `tryPromise` would.
     */
    const call = <A>(op: string, options: CallOptions | undefined, run: (signal: AbortSignal) => Promise<A>) => {
      const timeout = options?.timeout === undefined ? requestTimeout : Duration.min(options.timeout, requestTimeout)
      // setTimeout holds at most 2^31 - 1 ms (~24.8 days); a longer bound is that long.
      const ms = Math.min(2 ** 31 - 1, Math.max(0, Math.ceil(Duration.toMillis(timeout))))
      return Effect.async<A, StorageUnavailable | StorageQueryError>((resume) => {
        const controller = new AbortController()
        let settled = false
        const finishOnce = () => {
          if (settled) return false
          settled = true
          clearTimeout(timer)
          return true
        }
        const timer = setTimeout(() => {
          if (!finishOnce()) return
          controller.abort()
          resume(Effect.fail(new StorageUnavailable({ backend: "clickhouse", operation: op, message: `${server} did not answer within ${Duration.format(timeout)}` })))
        }, ms)
        let sent: Promise<A>
        try {
          sent = run(controller.signal)
        } catch (cause) {
          finishOnce()
          return resume(Effect.fail(classify(op, address)(cause)))
        }
        sent.then(
          (value) => void (finishOnce() && resume(Effect.succeed(value))),
          (cause: unknown) => void (finishOnce() && resume(Effect.fail(classify(op, address)(cause))))
        )
        return Effect.sync(() => {
          if (finishOnce()) controller.abort()
        })
      })
    }

    const send = (op: string, table: string, body: () => Body) =>
      Effect.suspend(() => {
        const encoded = body()
        return bounded(op, Effect.tryPromise({ try: (signal) => sendBody(table, encoded, insertSettings, signal), catch: classify(op, address, "rows") })).pipe(
          Effect.zipRight(afterInsert(encoded))
        )
      })
    const insert = (op: string, table: string, rows: ReadonlyArray<object>) =>
      rows.length === 0 ? Effect.void : send(op, table, () => ({ bytes: bodies.encode(rows, identity), format: "JSONEachRow", owned: true, rows: rows.length }))
    const insertRows = <A>(op: string, table: string, items: ReadonlyArray<A>, format: JsonLines.RowFormat<A>) =>
      items.length === 0 ? Effect.void : send(op, table, () => ({ bytes: bodies.encodeRows(items, format), format: "JSONCompactEachRow", columns: format.columns, owned: true, rows: items.length }))

    const shape: ClickHouseClientShape = {
      engine,
      address,
      database,
      client,
      query: <A>(op: string, sql: string, params: Params = {}, options?: CallOptions) =>
        call(op, options, async (signal) => {
          const result = await client.query({ query: withLimit(sql), query_params: params, format: "JSONEachRow", abort_signal: signal })
          return result.json<A>()
        }),
      command: (op, sql, params = {}, options) =>
        call(op, options, async (signal) => {
          await client.command({ query: sql, query_params: params, clickhouse_settings: settings, abort_signal: signal })
        }),
      insert,
      insertRows,
      insertBody: (op, table, body) => send(op, table, () => ({ ...body, owned: false }))
    }

    if (options.verify ?? true) {
      yield* withTimeout(shape.query(operation, "SELECT 1 AS ok"), { backend: "clickhouse", operation, timeout: connectTimeout, server }).pipe(
        Effect.mapError((e) =>
          e._tag === "StorageUnavailable" ? e : unavailable(operation, `ClickHouse at ${address} cannot be used: ${e.message}`, e)
        )
      )
    }
    return shape
  })

/** Each option as an unnamed `Config`, with its check and default (see `ConfigFields`). */
export const fields = {
  url: Config.redacted().pipe(Config.withDefault(Redacted.make("http://localhost:8123"))),
  database: Config.string().pipe(
    Config.validate({ message: "must be letters, digits and _ (not starting with a digit)", validation: validDatabase }),
    Config.withDefault("llmtrace")
  ),
  username: Config.string().pipe(Config.withDefault("default")),
  password: Config.redacted().pipe(Config.withDefault(Redacted.make(""))),
  requestTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(30))),
  connectTimeout: Config.duration().pipe(Config.withDefault(Duration.seconds(10))),
  compression: Config.boolean().pipe(Config.withDefault(true)),
  verify: Config.boolean().pipe(Config.withDefault(true))
} satisfies ConfigFields.Fields<Options>

/** The default configuration: each option under its own name (`url`, `requestTimeout`, …), every one optional. */
export const config: Config.Config<Options> = ConfigFields.named(fields)

/** The client from explicit options; reads no configuration. */
export const layer = (options: Options): Layer.Layer<ClickHouseClient, StorageUnavailable> => Layer.scoped(ClickHouseClient, make(options))

/** The client from a configuration, e.g. {@link config} or the profile's (`StorageConfig.clickhouse`). */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<ClickHouseClient, StorageUnavailable | ConfigError.ConfigError> =>
  Layer.scoped(ClickHouseClient, Effect.flatMap(Config.unwrap(config), make))
