import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Cli from "../support/cli.js"
import { freePort, silentServer } from "../support/ports.js"

// Failures to start: each is our one `error:` line on stderr, alone, and arrives as soon as it is known.
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-startup-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => Cli.cli(scratch, args, env)

/**
 * Makes `dir` a directory this process's user cannot write, and undoes it when `run` ends. Root
 * may write anywhere the mode bits forbid, so under root the directory is made immutable
 * (`chattr +i`, refused to root with EPERM) rather than running the command as another user, who
 * might not reach the checkout at all (a clone under a private `mktemp -d`).
 */
const unwritable = async <A>(dir: string, run: () => Promise<A>): Promise<A> => {
  const root = process.getuid?.() === 0
  if (root) execFileSync("chattr", ["+i", dir])
  else chmodSync(dir, 0o555)
  try {
    return await run()
  } finally {
    if (root) execFileSync("chattr", ["-i", dir])
    else chmodSync(dir, 0o755)
  }
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

describe("llmtrace-storage failing to start", () => {
  // The connect timeouts are far longer than the test's own bound: only failing at once returns in time.
  it("a refused Redis connection fails at once: one line naming Redis, the address and the refusal", async () => {
    const redisPort = await freePort()
    const postgres = await silentServer()
    try {
      // `stats` builds the whole profile (health opens each backend on its own and would wait for PostgreSQL).
      const result = await cli(["stats"], {
        LLMTRACE_STORAGE_PROFILE: "production",
        LLMTRACE_TRACE_WRITER_DEAD_LETTER_PATH: path.join(tmpdir(), "llmtrace-test-dead-letters"), // required by production; nothing is written
        LLMTRACE_CLICKHOUSE_URL: "chdb::memory:",
        // A PostgreSQL that never answers: Redis's refusal is the first failure to be known.
        LLMTRACE_POSTGRES_URL: `postgres://llmtrace@127.0.0.1:${postgres.port}/llmtrace`,
        LLMTRACE_POSTGRES_CONNECT_TIMEOUT: "10 minutes",
        LLMTRACE_REDIS_URL: `redis://:Secr3t-Pa55@127.0.0.1:${redisPort}`,
        LLMTRACE_REDIS_CONNECT_TIMEOUT: "10 minutes"
      })
      expect(result.code).toBe(1)
      expect(result.stderr.trim().split("\n")).toEqual([
        `error: StorageUnavailable [redis]: redis at 127.0.0.1:${redisPort} refused the connection: connect ECONNREFUSED 127.0.0.1:${redisPort}`
      ])
      expect(`${result.stdout}${result.stderr}`).not.toContain("Secr3t-Pa55")
    } finally {
      await postgres.close()
    }
  }, 60_000)

  it("a lite data directory whose ClickHouse directory cannot be written: our one line with the reason, no line of the engine's", async () => {
    const dir = path.join(scratch, "read-only")
    const engine = path.join(dir, "clickhouse")
    mkdirSync(engine, { recursive: true })
    const result = await unwritable(engine, () => cli(["migrate"], { LLMTRACE_DATA_DIR: dir }))
    expect(result.code).toBe(1)
    // EACCES from the mode bits; EPERM from the immutable flag (under root)
    expect(result.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(
        `^error: StorageUnavailable \\[clickhouse\\]: cannot open the embedded ClickHouse engine at ${escape(engine)}: ` +
          `Error: (EACCES: permission denied|EPERM: operation not permitted), access '${escape(engine)}'$`
      ))
    ])
  }, 120_000)

  it("a lite data directory that is a file: our one line, nothing else", async () => {
    const file = path.join(scratch, "a-file")
    writeFileSync(file, "")
    const result = await cli(["migrate"], { LLMTRACE_DATA_DIR: file })
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: StorageUnavailable \[storage\]: cannot create the data directory .*a-file: .*EEXIST/)])
  }, 120_000)

  it("a lite data directory open in another process: our one line naming that process, no line of the engine's", async () => {
    const dir = path.join(scratch, "held")
    const holder = spawn(path.resolve("node_modules/.bin/tsx"), [path.resolve("test/support/chdb-holder.ts"), path.join(dir, "clickhouse")], { stdio: ["pipe", "pipe", "inherit"] })
    try {
      // the engine's process (tsx runs the script in a child of its own)
      const pid = await new Promise<string>((resolve, reject) => {
        holder.stdout!.on("data", (d: Buffer) => {
          const opened = /open (\d+)/.exec(d.toString())
          if (opened !== null) resolve(opened[1]!)
        })
        holder.on("exit", (code) => reject(new Error(`the holder exited with ${code}`)))
      })
      const result = await cli(["migrate"], { LLMTRACE_DATA_DIR: dir })
      expect(result.code).toBe(1)
      expect(result.stderr.trim().split("\n")).toEqual([
        `error: StorageUnavailable [clickhouse]: cannot open the embedded ClickHouse engine at ${path.join(dir, "clickhouse")}: ` +
        `Error: it is open in process ${pid} (the engine allows one process per data directory); ` +
        `if that process is not ours, ${path.join(dir, "clickhouse")}/status is left from a crash: remove it`
      ])
    } finally {
      holder.stdin!.end()
      await new Promise((resolve) => holder.on("close", resolve))
    }
  }, 120_000)

  it("a status file left by a crashed process does not hold the directory", async () => {
    const dir = path.join(scratch, "crashed")
    mkdirSync(path.join(dir, "clickhouse"), { recursive: true })
    // a process id above the kernel's pid_max: certainly not running
    writeFileSync(path.join(dir, "clickhouse", "status"), "PID: 4194305\nStarted at: 2026-01-01 00:00:00\nRevision: 1\n")
    const result = await cli(["migrate"], { LLMTRACE_DATA_DIR: dir })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
  }, 120_000)

  // Node's recursive mkdir loops forever under /proc, holding the event loop (SIGTERM included): the
  // test's own timeout is the bound, far above the second the issue asks for.
  it("a data directory that cannot be made, under /proc too: one line, exit 1", async () => {
    for (const dir of ["/proc/nope", "/proc/nope/deeper", "/dev/null/x"]) {
      const result = await cli(["stats"], { LLMTRACE_DATA_DIR: dir })
      expect(result.code, dir).toBe(1)
      expect(result.stderr.trim().split("\n"), dir).toEqual([expect.stringMatching(/^error: StorageUnavailable \[storage\]: cannot create the data directory /)])
    }
  }, 90_000)
})
