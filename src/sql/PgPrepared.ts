import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type pg from "pg"

/**
 * Runs a statement built with `sql` as a named prepared statement on the `pg` pool behind the
 * client, where @effect/sql-pg would send it unnamed (parsed and planned on every call) through a
 * span and a `Scope` of its own: measured, that path costs 0.6x of raw `pg` at concurrency 1 and
 * 0.3x at 50 (bench/postgres.ts). The statement text is compiled by the client's own compiler, so
 * what reaches the server (text, bound parameters, JSON and NUL handling) is the same either way.
 *
 * - Inside `sql.withTransaction` the statement runs on the transaction's connection as before.
 * - Each distinct text gets a name once per pool (`llmtrace_<n>`); past {@link maxNamed} texts, the
 *   rest run unnamed, so a caller producing many texts cannot grow every connection's statement cache.
 * - A failure is the same `SqlError` (driver error as cause) @effect/sql-pg reports, so the
 *   repository's error mapping is unchanged.
 * - Bounds: the pool's connect timeout, the server's `statement_timeout` and the driver's
 *   `query_timeout` (PostgresClient sets all three). An interrupted call is not cancelled on the
 *   server (the result is dropped); the statement ends within `statement_timeout`.
 */

/** Distinct statement texts given a name per pool; the rest run unnamed. */
export const maxNamed = 200

export type Run = <A extends object>(statement: Statement.Statement<A>) => Effect.Effect<ReadonlyArray<A>, SqlError>

/** One runner per pool: names are per connection, so every user of a pool must share one naming. */
const runners = new WeakMap<pg.Pool, Run>()

export const runner = (pool: pg.Pool): Run => {
  const known = runners.get(pool)
  if (known !== undefined) return known
  const made = makeRunner(pool)
  runners.set(pool, made)
  return made
}

const makeRunner = (pool: pg.Pool): Run => {
  const names = new Map<string, string>()
  const nameOf = (text: string): string | undefined => {
    const known = names.get(text)
    if (known !== undefined || names.size >= maxNamed) return known
    const name = `llmtrace_${names.size}`
    names.set(text, name)
    return name
  }
  return <A extends object>(statement: Statement.Statement<A>) =>
    Effect.withFiberRuntime<ReadonlyArray<A>, SqlError>((fiber) => {
      if (Context.getOption(fiber.currentContext, SqlClient.TransactionConnection)._tag === "Some") return statement
      const [text, values] = statement.compile()
      const query: pg.QueryConfig = { text, values: values as Array<unknown> }
      const name = nameOf(text)
      if (name !== undefined) query.name = name
      return Effect.async<ReadonlyArray<A>, SqlError>((resume) => {
        pool.query(query, (error: Error | undefined, result: pg.QueryResult) => {
          resume(
            error === undefined || error === null
              ? Effect.succeed(result.rows as Array<A>)
              : Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
          )
        })
      })
    })
}
