import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { newTenantId, StorageProfile, TraceQuery, TraceRepository } from "../../src/index.js"
import { spanIdAt } from "../support/liteIngest.js"
import { TestStorage } from "../../src/testing/index.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const child = path.join(root, "test/support/lite-ingest-child.ts")

const tempDir = TestStorage.temporaryDirectory("llmtrace-kill-")

/**
 * Runs the ingesting child on `dataDir` and SIGKILLs it once it has acknowledged `acks` flushes;
 * returns the last acknowledged count. The child is killed in the finalizer whatever happened.
 */
const ingestThenKill = (dataDir: string, tenantId: string, acks: number) =>
  Effect.acquireUseRelease(
    // `node --import tsx`, not the tsx binary: that one runs the script in a grandchild, which a
    // SIGKILL of its parent leaves running (and holding the engine's lock) for a while.
    Effect.sync(() => spawn(process.execPath, ["--import", "tsx", child, dataDir, tenantId], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })),
    (proc) =>
      Effect.async<{ readonly acknowledged: number; readonly last: string }, Error>((resume) => {
        let stderr = ""
        let acknowledged = 0
        let seen = 0
        proc.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
        // The last line before the kill: `writing n` with no `flushed n` after it proves the kill
        // landed while a batch was being written.
        let last = ""
        createInterface({ input: proc.stdout! }).on("line", (line) => {
          if (line.startsWith("writing ") || line.startsWith("flushed ")) last = line
          const writing = /^writing (\d+)$/.exec(line)
          // Killed as soon as the batch after the `acks`-th acknowledgement starts.
          if (writing !== null && seen >= acks) return void proc.kill("SIGKILL")
          const match = /^flushed (\d+)$/.exec(line)
          if (match === null) return
          acknowledged = Number(match[1])
          seen++
        })
        // `close`, not `exit`: every line the child wrote has been read by then.
        proc.on("close", (code, signal) =>
          signal === "SIGKILL" && seen >= acks
            ? resume(Effect.succeed({ acknowledged, last }))
            : resume(Effect.fail(new Error(`the ingesting child exited (${code ?? signal}) after ${seen} flushes: ${stderr}`))))
      }),
    (proc) => Effect.sync(() => (proc.exitCode === null && proc.signalCode === null ? void proc.kill("SIGKILL") : undefined))
  )

describe("lite profile, process killed mid-ingest", () => {
  it.scopedLive("SIGKILL during ingestion: the data directory reopens and every span acknowledged as flushed is there", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir
      const tenantId = newTenantId()
      const { acknowledged, last } = yield* ingestThenKill(dataDir, tenantId, 4)
      expect(acknowledged).toBeGreaterThanOrEqual(4 * 2000)
      // Mid-write: the batch after the last acknowledged one had started and was never acknowledged.
      expect(last).toBe(`writing ${acknowledged + 2000}`)

      // Reopen the same directory in this process (the engine's lock died with the child).
      const found = yield* Effect.gen(function*() {
        const repo = yield* TraceRepository.TraceRepository
        const stats = yield* repo.getStats(tenantId)
        const ids = new Set<string>()
        for (let offset = 0; ; offset += 10_000) {
          const page = yield* repo.querySpans(TraceQuery.make({ tenantId, limit: 10_000, offset }))
          for (const s of page) ids.add(s.spanId)
          if (page.length < 10_000) break
        }
        return { stats, ids }
      }).pipe(Effect.provide(StorageProfile.lite({ dataDir })))

      const missing = Array.from({ length: acknowledged }, (_, i) => spanIdAt(i)).filter((id) => !found.ids.has(id))
      expect(missing).toEqual([])
      expect(found.stats.totalSpans).toBeGreaterThanOrEqual(acknowledged)
      expect(found.stats.totalSpans).toBe(found.ids.size)
      console.log(`SIGKILL after ${acknowledged} acknowledged spans: ${found.stats.totalSpans} spans found on reopen`)
    }), 180_000)
})
