import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import { randomBytes } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type pg from "pg"
import * as PostgresClient from "../postgres/PostgresClient.js"
import { StorageUnavailable } from "../StorageError.js"

/**
 * The private namespaces a test runs in (a PostgreSQL database, a Redis key prefix, a temporary
 * directory), each removed when its scope closes: the one implementation behind `TestStorage` and
 * our own suites.
 */

// The cause keeps the driver's message only: its error objects carry the command (for AUTH, the password).
const unavailable = (message: string, cause: unknown) =>
  new StorageUnavailable({ backend: "storage", operation: "TestStorage", message, cause: new Error(cause instanceof Error ? cause.message : String(cause)) })

const suffix = () => randomBytes(6).toString("hex")

/** A short-lived administrative connection to the server of `url`. */
export const withPostgres = async <A>(url: Redacted.Redacted, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  // Imported here, as the adapters import their drivers: only a test on a live service loads one.
  const client = new (await import("pg")).default.Client({ connectionString: Redacted.value(url), connectionTimeoutMillis: 5000 })
  client.on("error", () => undefined)
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** A short-lived client that fails fast (no retries, no offline queue); its connection error names the cause. */
export const withRedis = async <A>(url: Redacted.Redacted<string>, f: (client: Redis) => Promise<A>): Promise<A> => {
  const client = new (await import("ioredis")).Redis(Redacted.value(url), {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false
  })
  let lastError: string | undefined
  client.on("error", (error: Error) => void (lastError = error.message))
  try {
    await client.connect()
    return await f(client)
  } catch (error) {
    // The message only: ioredis errors carry the command's arguments (for AUTH, the password).
    throw new Error(lastError ?? (error instanceof Error ? error.message : String(error)))
  } finally {
    client.disconnect()
  }
}

/** A temporary directory under the system's (or `TMPDIR`), removed when the scope closes. */
export const temporaryDirectory = (prefix = "llmtrace-testkit-"): Effect.Effect<string, StorageUnavailable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => mkdtemp(path.join(tmpdir(), prefix)),
      catch: (cause) => unavailable(`cannot create a temporary directory: ${String(cause)}`, cause)
    }),
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  )

/** A database created on the server of `url`: its name and its URL. */
export interface Database {
  readonly name: string
  readonly url: Redacted.Redacted
}

/** Creates a uniquely named database `<prefix>_<random>` on the server of `url` (the role needs CREATEDB). */
const createPostgresDatabase = (url: Redacted.Redacted, prefix = "llmtrace_testkit"): Effect.Effect<Database, StorageUnavailable> =>
  Effect.tryPromise({
    try: async () => {
      const name = `${prefix}_${suffix()}`
      await withPostgres(url, (c) => c.query(`CREATE DATABASE ${name}`))
      const database = new URL(Redacted.value(url))
      database.pathname = `/${name}`
      return { name, url: Redacted.make(database.toString()) }
    },
    catch: (cause) => unavailable(`cannot create a test database on ${PostgresClient.describe(url)} (the role needs CREATEDB): ${String(cause)}`, cause)
  })

/** Drops the database (and its connections). */
const dropPostgresDatabase = (url: Redacted.Redacted, name: string): Effect.Effect<void, StorageUnavailable> =>
  Effect.tryPromise({
    try: () => withPostgres(url, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
    catch: (cause) => unavailable(`cannot drop the test database ${name} on ${PostgresClient.describe(url)}: ${String(cause)}`, cause)
  }).pipe(Effect.asVoid)

/** A fresh database on the server of `url`, created now and dropped (with its connections) when the scope closes. */
export const postgresDatabase = (url: Redacted.Redacted, prefix?: string): Effect.Effect<Database, StorageUnavailable, Scope.Scope> =>
  Effect.acquireRelease(createPostgresDatabase(url, prefix), ({ name }) =>
    dropPostgresDatabase(url, name).pipe(
      Effect.tapError((error) => Effect.logWarning(error.message)),
      Effect.ignore
    ))

const pattern = (prefix: string) => `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`

/** Every key under `prefix` (SCAN with a MATCH pattern, its glob characters escaped). */
export const keysUnder = (url: Redacted.Redacted<string>, prefix: string): Effect.Effect<ReadonlyArray<Buffer>, StorageUnavailable> =>
  Effect.tryPromise({
    try: () =>
      withRedis(url, async (client) => {
        const out: Array<Buffer> = []
        let cursor = "0"
        do {
          const [next, keys] = await client.scanBuffer(cursor, "MATCH", pattern(prefix), "COUNT", 1000)
          cursor = next.toString()
          out.push(...keys)
        } while (cursor !== "0")
        return out
      }),
    catch: (cause) => unavailable(`cannot list the keys under ${prefix}: ${String(cause)}`, cause)
  })

/** Removes every key under `prefix` (SCAN + UNLINK); returns how many went. */
export const dropRedisPrefix = (url: Redacted.Redacted<string>, prefix: string): Effect.Effect<number, StorageUnavailable> =>
  Effect.flatMap(keysUnder(url, prefix), (keys) =>
    keys.length === 0 ? Effect.succeed(0) : Effect.tryPromise({
      try: () =>
        withRedis(url, async (client) => {
          let dropped = 0
          for (let i = 0; i < keys.length; i += 500) dropped += await client.unlink(...keys.slice(i, i + 500))
          return dropped
        }),
      catch: (cause) => unavailable(`cannot remove the keys under ${prefix}: ${String(cause)}`, cause)
    }))

/** A fresh random key prefix `<label>:<random>:`, so no two tests see each other's keys. */
export const newRedisPrefix = (label = "llmtrace-testkit"): string => `${label}:${suffix()}:`

/** Removes every key under `prefix` when the scope closes (a failure to do so is logged). */
export const dropRedisPrefixOnClose = (url: Redacted.Redacted<string>, prefix: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.addFinalizer(() =>
    dropRedisPrefix(url, prefix).pipe(
      Effect.tapError((error) => Effect.logWarning(error.message)),
      Effect.ignore
    )
  )

/** A fresh random key prefix `<label>:<random>:`; every key under it is removed when the scope closes. */
export const redisPrefix = (url: Redacted.Redacted<string>, label?: string): Effect.Effect<string, never, Scope.Scope> => {
  const prefix = newRedisPrefix(label)
  return Effect.as(dropRedisPrefixOnClose(url, prefix), prefix)
}
