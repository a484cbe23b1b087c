import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

// Each entry loads only its own driver, and only when a layer that needs it is built: a child process
// imports one entry as the exports map names it (its source, through tsx), builds one of its layers or
// none, and module hooks record every package it loaded (support/package-hooks.mjs).
const root = fileURLToPath(new URL("../..", import.meta.url))
const child = fileURLToPath(new URL("../support/entry-drivers-child.ts", import.meta.url))
const tsx = pathToFileURL(path.join(root, "node_modules/tsx/dist/loader.mjs")).href

/** The packages that talk to a database, and the Effect SQL clients that load them. */
const drivers = ["@clickhouse/client", "chdb", "pg", "@effect/sql-pg", "better-sqlite3", "@effect/sql-sqlite-node", "ioredis"]

const exportsMap = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { exports: Record<string, string | { import: string }> }).exports
/** Each entry and the source file its built `import` target comes from. */
const entries = Object.entries(exportsMap).flatMap(([entry, target]) =>
  typeof target === "string" ? [] : [[entry, path.join(root, target.import.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"))] as const])
const source = (entry: string) => entries.find(([e]) => e === entry)![1]

/** The drivers a process loaded that imported `entry` and built its layer `build` (none if undefined). */
const loaded = (entry: string, build?: string): Promise<ReadonlyArray<string>> => {
  const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-entry-"))
  const log = path.join(dir, "loaded")
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ["--import", tsx, child, log, source(entry), ...(build === undefined ? [] : [build])], { cwd: root, timeout: 60_000 }, (error, _stdout, stderr) => {
      if (error !== null) return reject(new Error(`${entry} ${build ?? ""}: ${stderr}`))
      const packages = new Set(readFileSync(log, "utf8").split("\n"))
      rmSync(dir, { recursive: true, force: true })
      resolve(drivers.filter((d) => packages.has(d)).sort())
    }))
}

describe("entries", () => {
  it("the exports map names the core, one entry per integration and the test kit", () => {
    expect(entries.map(([entry]) => entry)).toEqual([".", "./clickhouse", "./postgres", "./sqlite", "./redis", "./memory", "./otlp", "./testing", "./testing/vitest"])
  })

  // ./testing/vitest registers suites with vitest and loads only under its runner.
  it.each(entries.map(([entry]) => entry).filter((entry) => entry !== "./testing/vitest"))("importing %s loads no driver", async (entry) => {
    expect(await loaded(entry)).toEqual([])
  }, 120_000)

  it.each([
    [".", "memory", ["@effect/sql-sqlite-node", "better-sqlite3"]],
    [".", "lite", ["@clickhouse/client", "@effect/sql-sqlite-node", "better-sqlite3", "chdb"]],
    ["./clickhouse", "clickhouse", ["@clickhouse/client"]],
    ["./postgres", "postgres", ["@effect/sql-pg", "pg"]],
    ["./sqlite", "sqlite", ["@effect/sql-sqlite-node", "better-sqlite3"]],
    ["./redis", "redis", ["ioredis"]]
  ])("importing %s and building %s loads %j and no other driver", async (entry, build, expected) => {
    expect(await loaded(entry, build)).toEqual(expected)
  }, 120_000)

  it("building the production profile loads no embedded engine and no SQLite", async () => {
    // Its three clients connect concurrently and the first refused connection ends the others: which of their
    // drivers had loaded by then is a race, that none of the others' is not.
    const production = await loaded(".", "production")
    expect(production.filter((d) => !["@clickhouse/client", "pg", "@effect/sql-pg", "ioredis"].includes(d))).toEqual([])
    expect(production).not.toEqual([])
  }, 120_000)
})
