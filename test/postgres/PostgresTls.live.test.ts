import { describe, expect, it, layer } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { MetadataRepository, NewTenant, StorageConfig } from "../../src/index.js"
import { PostgresClient, SqlMetadataRepository } from "../../src/postgres/index.js"
import { describeLive } from "../support/live.js"
import { postgresServerInstalled, type PrivatePostgres, privateTlsPostgres } from "../support/privatePostgres.js"

/** One private TLS server for the file's tests. */
class Server extends Context.Tag("test/PrivateTlsPostgres")<Server, PrivatePostgres>() {}

const withServer = <A, E>(f: (server: PrivatePostgres) => Effect.Effect<A, E>) => Effect.flatMap(Server, f)

const failure = (options: PostgresClient.Options) => Layer.build(PostgresClient.layer({ connectTimeout: "5 seconds", ...options })).pipe(Effect.scoped, Effect.flip)

describeLive(await postgresServerInstalled(), () => {
  layer(Layer.scoped(Server, privateTlsPostgres), { timeout: "120 seconds", excludeTestServices: true })("PostgreSQL over TLS (ssl = on, a CA made by the test, pg_hba admitting TLS only)", (it) => {
    it.effect("with the CA option the layer connects over TLS, verifies the server's name, and the repository works", () =>
      withServer((server) =>
        Effect.gen(function*() {
          for (const url of [server.url, `${server.url}?sslmode=verify-full`]) {
            yield* Effect.gen(function*() {
              const sql = yield* SqlClient.SqlClient
              const [row] = yield* sql<{ ssl: boolean; version: string }>`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`
              expect(row).toMatchObject({ ssl: true })
              const repo = yield* MetadataRepository.MetadataRepository
              const t = NewTenant.make({ name: "tls", apiToken: `tok-${crypto.randomUUID()}`, plan: "pro" })
              yield* repo.createTenant(t)
              expect(Option.map(yield* repo.getTenantByToken(t.apiToken), (x) => x.id)).toEqual(Option.some(t.id))
            }).pipe(
              Effect.provide(SqlMetadataRepository.layer().pipe(Layer.provideMerge(PostgresClient.layer({ url: Redacted.make(url), caFile: server.caFile, maxConnections: 2 })))),
              Effect.scoped
            )
          }
        })
      ))

    it.effect("a wrong CA fails at layer build with one line, naming the server and never the password", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const error = yield* failure({ url: Redacted.make(server.url), caFile: server.wrongCaFile })
          expect(error._tag).toBe("StorageUnavailable")
          expect(error.message).toContain(`localhost:${server.port}/postgres`)
          expect(error.message).toMatch(/certificate/i)
          expect(error.message.split("\n")).toHaveLength(1)
          for (const text of [error.message, String(error), JSON.stringify(error)]) expect(text).not.toContain(server.password)
        })
      ))

    it.effect("the server's name is checked: the certificate names localhost, not 127.0.0.1; sslmode=verify-ca checks the chain only", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const byAddress = server.url.replace("@localhost:", "@127.0.0.1:")
          const error = yield* failure({ url: Redacted.make(byAddress), caFile: server.caFile })
          expect(error._tag).toBe("StorageUnavailable")
          expect(error.message).toMatch(/does not match certificate's altnames/)
          for (const text of [error.message, JSON.stringify(error)]) expect(text).not.toContain(server.password)
          yield* Layer.build(PostgresClient.layer({ url: Redacted.make(`${byAddress}?sslmode=verify-ca`), caFile: server.caFile })).pipe(Effect.scoped)
        })
      ))

    it.effect("without TLS the server refuses the connection (the passing cases above did use it)", () =>
      withServer((server) =>
        Effect.gen(function*() {
          const error = yield* failure({ url: Redacted.make(`${server.url}?sslmode=disable`) })
          expect(error._tag).toBe("StorageUnavailable")
          expect(error.message).toMatch(/no encryption|pg_hba/)
          expect(JSON.stringify(error)).not.toContain(server.password)
        })
      ))

    it.effect("a missing CA file fails at layer build with one line naming it", () =>
      Effect.gen(function*() {
        const error = yield* failure({ url: Redacted.make("postgres://u:Secret-Pw@localhost:1/db"), caFile: "/nonexistent/ca.pem" })
        expect(error.message).toMatch(/^cannot read the PostgreSQL CA file \/nonexistent\/ca.pem: /)
        expect(JSON.stringify(error)).not.toContain("Secret-Pw")
      }))
  })
})

describe("PostgreSQL TLS and pooler configuration", () => {
  it.effect("LLMTRACE_POSTGRES_CA_FILE and LLMTRACE_POSTGRES_POOLER reach the client's options; unset, no CA and no pooler", () =>
    Effect.gen(function*() {
      const set = yield* Effect.withConfigProvider(StorageConfig.postgres, ConfigProvider.fromMap(new Map([
        ["LLMTRACE_POSTGRES_CA_FILE", "/etc/ssl/db-ca.pem"],
        ["LLMTRACE_POSTGRES_POOLER", "transaction"]
      ])))
      expect(set.caFile).toBe("/etc/ssl/db-ca.pem")
      expect(set.pooler).toBe("transaction")
      const unset = yield* Effect.withConfigProvider(StorageConfig.postgres, ConfigProvider.fromMap(new Map()))
      expect(unset.caFile).toBeUndefined()
      expect(unset.pooler).toBe("none")
      const wrong = yield* Effect.withConfigProvider(StorageConfig.postgres, ConfigProvider.fromMap(new Map([["LLMTRACE_POSTGRES_POOLER", "statement"]]))).pipe(Effect.flip)
      expect(String(wrong)).toContain("LLMTRACE_POSTGRES_POOLER")
    }))
})
