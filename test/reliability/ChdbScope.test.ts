import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { mkdirSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { closedPort } from "../support/ports.js"
import { TestStorage } from "../../src/testing/index.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const cli = path.join(root, "src/cli/main.ts")

const tempDir = TestStorage.temporaryDirectory("llmtrace-scope-")

/** Runs the real CLI with `env` on top of this process's environment; its exit code (or signal) and stderr. */
const runCli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ readonly code: number | string; readonly stderr: string }>((resume) => {
    // `node --import tsx`, not the tsx binary, so the exit code and signal are the CLI's own.
    const proc = spawn(process.execPath, ["--import", "tsx", cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    proc.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
    proc.on("exit", (code, signal) => resume(Effect.succeed({ code: code ?? signal ?? "?", stderr })))
    return Effect.sync(() => void proc.kill("SIGKILL"))
  })

/** What chDB leaves in a temporary directory: its `:memory:` engines' directories. */
const chdbLeftovers = (dir: string) => readdirSync(dir).filter((name) => name.startsWith("chdb-"))

describe("the embedded engine's scope when a sibling layer fails to build", () => {
  it.scopedLive("production profile on chdb::memory: with PostgreSQL on a closed port: exit 1 with one line, ten times in a row, no chDB directory left", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      for (let run = 1; run <= 10; run++) {
        const tmp = yield* tempDir
        const empty = path.join(tmp, "empty.jsonl")
        writeFileSync(empty, "")
        // A writing command (read-only ones never migrate): ClickHouse builds and migrates while PostgreSQL fails.
        const result = yield* runCli(["ingest", empty], {
          TMPDIR: tmp,
          LLMTRACE_STORAGE_PROFILE: "production",
          LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-test-dead-letters"), // required by production; nothing is written
          LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
          // An in-memory engine is always unmigrated: migrating it keeps ClickHouse building while PostgreSQL fails
          // (without, the pending schema can fail first, since each client loads its driver when it is built).
          LLMTRACE_AUTO_MIGRATE: "true",
          LLMTRACE_POSTGRES_URL: `postgres://llmtrace@127.0.0.1:${port}/llmtrace`
        })
        const lines = result.stderr.trim().split("\n")
        expect({ run, code: result.code, lines: lines.length }).toEqual({ run, code: 1, lines: 1 })
        expect(lines[0]).toMatch(/^error: StorageUnavailable \[postgres\]: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+/)
        expect({ run, left: chdbLeftovers(tmp) }).toEqual({ run, left: [] })
      }
    }), 300_000)

  it.scopedLive("lite profile whose SQLite file cannot be opened: exit 1 with one line, five times in a row, no chDB directory left", () =>
    Effect.gen(function*() {
      for (let run = 1; run <= 5; run++) {
        const tmp = yield* tempDir
        const dataDir = path.join(tmp, "data")
        // A directory where the metadata database should be: SQLite fails, next to a working chDB.
        mkdirSync(path.join(dataDir, "metadata.db"), { recursive: true })
        const result = yield* runCli(["stats"], { TMPDIR: tmp, LLMTRACE_STORAGE_PROFILE: "lite", LLMTRACE_DATA_DIR: dataDir })
        const lines = result.stderr.trim().split("\n")
        expect({ run, code: result.code, lines: lines.length }).toEqual({ run, code: 1, lines: 1 })
        expect(lines[0]).toMatch(/^error: StorageUnavailable \[sqlite\]: cannot open SQLite database/)
        expect({ run, left: chdbLeftovers(tmp) }).toEqual({ run, left: [] })
      }
    }), 300_000)
})
