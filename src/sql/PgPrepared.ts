import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as net from "node:net"
import type pg from "pg"

/**
 * Runs a statement built with `sql` on the `pg` pool behind the client, where @effect/sql-pg would
 * send it unnamed (parsed and planned on every call) through a span and a `Scope` of its own:
 * measured, that path costs 0.6x of raw `pg` at concurrency 1 and 0.3x at 50 (bench/postgres.ts).
 * The statement text is compiled by the client's own compiler, so what reaches the server (text,
 * bound parameters, JSON and NUL handling) is the same either way.
 *
 * - Inside `sql.withTransaction` the statement runs on the transaction's connection as before.
 * - With `prepare` (a direct connection, or a session-mode pooler) each distinct text gets a name
 *   once per pool (`llmtrace_<n>`); past {@link maxNamed} texts, the rest run unnamed, so a caller
 *   producing many texts cannot grow every connection's statement cache. Without it (a
 *   transaction-mode pooler hands each statement to any server connection) every statement is unnamed.
 * - A named statement whose plan went stale (another release's migration changed its result type:
 *   `cached plan must not change result type`) is deallocated and run again, once.
 * - An interrupted call is cancelled on the server (a protocol CancelRequest with the connection's
 *   key, which a pooler forwards to the server connection it runs on), so the statement does not
 *   run on after its caller gave up.
 * - `cancelAfter` bounds a statement where no session setting can (a transaction-mode pooler): past
 *   it the statement is cancelled on the server and fails with 57014, as `statement_timeout` would.
 * - A failure is the same `SqlError` (driver error as cause) @effect/sql-pg reports, so the
 *   repository's error mapping is unchanged.
 */

/** Distinct statement texts given a name per pool; the rest run unnamed. */
export const maxNamed = 200

export type Run = <A extends object>(statement: Statement.Statement<A>) => Effect.Effect<ReadonlyArray<A>, SqlError>

export interface Settings {
  /** Named prepared statements: only where one client session stays on one server session. */
  readonly prepare: boolean
  /** A statement bound the client enforces by cancelling on the server; `undefined` where the server's `statement_timeout` holds. */
  readonly cancelAfter: Duration.Duration | undefined
}

/** A direct connection: named statements, the server's own `statement_timeout`. */
export const direct: Settings = { prepare: true, cancelAfter: undefined }


/** What `pg` keeps of a connection that a cancel and a stale plan need (public fields, untyped in @types/pg). */
interface Session {
  readonly processID: number | null
  readonly secretKey: number | null
  readonly connectionParameters: { readonly host: string; readonly port: number }
  /** The driver's record of statements this connection has parsed: one is dropped with its DEALLOCATE. */
  readonly connection: { readonly parsedStatements: Record<string, string> }
}

/**
 * Sends a protocol CancelRequest for the statement running on `client`'s session; resolves when
 * the server (or pooler) closed the request's connection, or after a second.
 */
export const cancel = (client: pg.PoolClient): Promise<void> =>
  new Promise((resolve) => {
    const session = client as unknown as Session
    if (session.processID === null || session.secretKey === null) return resolve()
    const { host, port } = session.connectionParameters
    const socket = host.startsWith("/") ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host)
    const packet = Buffer.alloc(16)
    packet.writeInt32BE(16, 0)
    packet.writeInt32BE(80877102, 4) // the CancelRequest code
    packet.writeInt32BE(session.processID, 8)
    packet.writeInt32BE(session.secretKey, 12)
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve()
    }
    const timer = setTimeout(done, 1000)
    // Written, not ended: a pooler forwards the request only while its sender is still connected
    // (pgbouncer drops it on an early EOF), and closes the connection itself when done.
    socket.once("connect", () => socket.write(packet))
    socket.once("close", done)
    socket.once("error", done)
  })

const isStalePlan = (error: unknown): boolean =>
  (error as { code?: unknown }).code === "0A000" && /cached plan must not change result type/.test(String((error as Error).message))

/** Runs `query` on `client`; a stale named plan is deallocated and run again, once. */
const submit = (client: pg.PoolClient, query: pg.QueryConfig, callback: (error: Error | undefined, result?: pg.QueryResult) => void) =>
  client.query(query, (error: Error | undefined, result: pg.QueryResult) => {
    if (error === undefined || error === null) return callback(undefined, result)
    const name = query.name
    if (name === undefined || !isStalePlan(error)) return callback(error)
    client.query(`DEALLOCATE ${name}`, (deallocated: Error | undefined) => {
      if (deallocated !== undefined && deallocated !== null) return callback(error)
      delete (client as unknown as Session).connection.parsedStatements[name]
      client.query(query, (again: Error | undefined, result: pg.QueryResult) => callback(again ?? undefined, result))
    })
  })

/** One statement's life on a connection: what an interrupt and the client-side bound need to know. */
type Call =
  | { readonly _tag: "Acquiring" }
  | { readonly _tag: "Running"; readonly client: pg.PoolClient }
  | { readonly _tag: "Done" }

/**
 * A runner on `pool`. Names are per connection, so every user of a pool must share its one runner:
 * `PostgresClient` makes it with the pool and provides both as `PgPool`.
 */
export const make = (pool: pg.Pool, settings: Settings = direct): Run => {
  const names = new Map<string, string>()
  const nameOf = (text: string): string | undefined => {
    if (!settings.prepare) return undefined
    const known = names.get(text)
    if (known !== undefined || names.size >= maxNamed) return known
    const name = `llmtrace_${names.size}`
    names.set(text, name)
    return name
  }
  const cancelAfterMs = settings.cancelAfter === undefined ? undefined : Duration.toMillis(settings.cancelAfter)
  return <A extends object>(statement: Statement.Statement<A>) =>
    Effect.withFiberRuntime<ReadonlyArray<A>, SqlError>((fiber) => {
      if (Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)._tag === "Some") return statement
      const [text, values] = statement.compile()
      const query: pg.QueryConfig = { text, values: values as Array<unknown> }
      const name = nameOf(text)
      if (name !== undefined) query.name = name
      return Effect.async<ReadonlyArray<A>, SqlError>((resume) => {
        let call: Call = { _tag: "Acquiring" }
        const fail = (cause: unknown, message: string) => resume(Effect.fail(new SqlError({ cause, message })))
        pool.connect((error, client, release) => {
          if (error !== undefined && error !== null) return fail(error, "Failed to acquire connection")
          if (client === undefined) return fail(new Error("No client returned"), "Failed to acquire connection")
          if (call._tag === "Done") return release() // interrupted while waiting for a connection
          call = { _tag: "Running", client }
          const timer = cancelAfterMs === undefined ? undefined : setTimeout(() => {
            if (call._tag === "Running") void cancel(client)
          }, cancelAfterMs)
          submit(client, query, (error, result) => {
            clearTimeout(timer)
            call = { _tag: "Done" }
            // A connection that broke under the statement is not given back to others.
            release(error !== undefined && isBroken(error) ? error : undefined)
            if (error !== undefined) return fail(error, "Failed to execute statement")
            resume(Effect.succeed(result!.rows as Array<A>))
          })
        })
        return Effect.suspend(() => {
          const was = call
          call = { _tag: "Done" }
          // The statement's own callback releases the connection once the cancelled statement returns.
          return was._tag === "Running" ? Effect.promise(() => cancel(was.client)) : Effect.void
        })
      })
    })
}

/** Errors without a server code are the driver's own: the connection is lost or in an unknown state. */
const isBroken = (error: Error): boolean => (error as { code?: unknown }).code === undefined
