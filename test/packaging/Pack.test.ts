import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readmeApplicationExample, readmeExample, readmeInstallLines } from "../support/readme.js"
import { localRegistry } from "../support/registry.js"

// The package as a user gets it: `npm pack` (whose prepare builds dist/), once for both tests. The first installs it
// in a scratch project that links the rest of its dependencies to ours (fast: nothing downloaded) and typechecks
// and runs the README's testing example; the second runs the README's install lines as written, npm resolving
// everything from the registry as a user's npm does.
const root = fileURLToPath(new URL("../..", import.meta.url))
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-pack-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 300_000): Promise<Run> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

/** Without ANSI colours. */
// eslint-disable-next-line no-control-regex -- the escape character starts every ANSI sequence
const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

// No LLMTRACE_* variable: TestStorage.fromEnv runs on lite in a temporary directory.
const testEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_") && !k.startsWith("VITEST") && k !== "FORCE_COLOR"))

/** The package's entries (`.`, `./clickhouse`, …) and their files, as its exports map names them. */
const entries = Object.entries((JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>
}).exports).flatMap(([entry, target]) => (typeof target === "string" ? [] : [[entry, target] as const]))

let info: { filename: string; files: Array<{ path: string }> }
beforeAll(async () => {
  const packed = await run("npm", ["pack", "--json", "--pack-destination", scratch], root)
  expect(packed.stderr).not.toMatch(/npm error/)
  expect(packed.code).toBe(0)
  info = (JSON.parse(packed.stdout) as Array<typeof info>)[0]!
}, 300_000)

describe("the packed package", () => {
  it("installs in a scratch project where the README's testing example typechecks and passes, and every entry's types compile under skipLibCheck: false", async () => {
    const files = info.files.map((f) => f.path)
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "dist/cli/main.js"]))
    // Every file the exports map names is in the package.
    expect(files).toEqual(expect.arrayContaining(entries.flatMap(([, target]) => [target.types, target.import]).map((f) => f.replace(/^\.\//, ""))))
    expect(files.filter((f) => f.startsWith("test/"))).toEqual([])

    const project = path.join(scratch, "linked")
    const modules = path.join(project, "node_modules")
    mkdirSync(modules, { recursive: true })
    const untar = await run("tar", ["-xzf", path.join(scratch, info.filename), "-C", modules], project)
    expect(untar.code).toBe(0)
    renameSync(path.join(modules, "package"), path.join(modules, "llmtrace-storage"))
    const ours = realpathSync(path.join(root, "node_modules"))
    for (const name of readdirSync(ours)) {
      if (name.startsWith(".") || name === "llmtrace-storage") continue
      symlinkSync(path.join(ours, name), path.join(modules, name))
    }
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
    writeFileSync(path.join(project, "vitest.config.mjs"), `export default { test: { pool: "forks", testTimeout: 120000, hookTimeout: 180000 } }\n`)
    writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
      include: ["example.test.ts"]
    }))
    writeFileSync(path.join(project, "example.test.ts"), readmeExample())

    const typecheck = await run(process.execPath, [path.join(ours, "typescript/bin/tsc"), "-p", "tsconfig.json"], project)
    expect(typecheck.stdout + typecheck.stderr).toBe("")
    expect(typecheck.code).toBe(0)

    // A consumer that checks every declaration file, ours and our dependencies' (no skipLibCheck): the types
    // a library user sees must resolve from what the package installs (e.g. pg's through @types/pg).
    writeFileSync(path.join(project, "consumer.ts"), [
      `import { StorageProfile, TraceSpan } from "llmtrace-storage"`,
      `import { Arbitraries, Fixtures, TestStorage } from "llmtrace-storage/testing"`,
      `import { CacheContract } from "llmtrace-storage/testing/vitest"`,
      // Every entry of the exports map, so each one's declarations resolve.
      ...entries.map(([entry], i) => `import * as entry${i} from "${path.posix.join("llmtrace-storage", entry)}"`),
      `export const used = [StorageProfile, TraceSpan, Arbitraries, Fixtures, TestStorage, CacheContract, ${entries.map((_, i) => `entry${i}`).join(", ")}] as const`,
      ``
    ].join("\n"))
    writeFileSync(path.join(project, "tsconfig.strict.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, types: ["node"] },
      files: ["consumer.ts"]
    }))
    const strict = await run(process.execPath, [path.join(ours, "typescript/bin/tsc"), "-p", "tsconfig.strict.json"], project)
    expect(strict.stdout + strict.stderr).toBe("")
    expect(strict.code).toBe(0)

    const tested = await run(process.execPath, [path.join(ours, "vitest/vitest.mjs"), "run", "--reporter", "verbose"], project, testEnv)
    expect(plain(tested.stdout + tested.stderr)).toMatch(/Tests\s+2 passed \(2\)/)
    expect(tested.code).toBe(0)
  }, 600_000)

  // One project takes the three blocks in turn (a user runs one of the first two; the second only adds the engine
  // here), so better-sqlite3, which npm compiles where no prebuilt binary fits, is built once.
  it("installs by the README's own lines, as written, in an empty project: the application example runs without the engine (memory) and with it (lite), the test kit's without vitest, the testing example with it", async () => {
    const upstream = (await run("npm", ["config", "get", "registry"], root)).stdout.trim()
    const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { name: string; version: string }
    const registry = await localRegistry(path.join(scratch, info.filename), manifest, upstream)
    try {
      const project = path.join(scratch, "installed")
      mkdirSync(project)
      writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
      const npmEnv = { ...testEnv, npm_config_registry: registry.url, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" }
      const install = async (block: string) => {
        const lines = readmeInstallLines(block)
        expect(lines.length, block).toBeGreaterThan(0)
        for (const line of lines) {
          const installed = await run("sh", ["-c", line], project, npmEnv, 900_000)
          expect(installed.code, `${line}: ${installed.stderr}`).toBe(0)
        }
      }
      const has = (name: string) => existsSync(path.join(project, "node_modules", name, "package.json"))
      writeFileSync(path.join(project, "application.mjs"), readmeApplicationExample())
      const application = (env: Record<string, string>) => run(process.execPath, ["application.mjs"], project, { ...testEnv, ...env })

      await install("install-without-engine")
      expect([has("llmtrace-storage"), has("effect"), has("chdb"), has("vitest"), has("@effect/cli")]).toEqual([true, true, false, false, false])
      const memory = await application({ LLMTRACE_STORAGE_PROFILE: "memory" })
      expect(memory.stderr).toBe("")
      expect(memory.stdout).toContain("prompt: 'Hi'")
      // The runner-free half of the test kit, with no vitest installed.
      const kit = await run(process.execPath, ["--input-type=module", "-e", [
        `import { Arbitraries, Fixtures, LiveService, TestStorage } from "llmtrace-storage/testing"`,
        `console.log([Arbitraries, Fixtures, LiveService, TestStorage].every((m) => typeof m === "object"))`
      ].join("\n")], project, testEnv)
      expect([kit.stdout.trim(), kit.stderr]).toEqual(["true", ""])

      await install("install")
      expect(has("chdb")).toBe(true)
      const lite = await application({})
      expect(lite.stderr).toBe("")
      expect(lite.stdout).toContain("prompt: 'Hi'")

      await install("install-test-kit")
      expect([has("vitest"), has("@effect/vitest")]).toEqual([true, true])
      // The configuration the README gives for tests on lite, and its example; our own bounds on the command line.
      const config = /`(export default defineConfig\(\{ test: \{ pool: "forks" \} \}\))` in `vitest\.config\.ts`/.exec(readFileSync(path.join(root, "README.md"), "utf8"))
      expect(config).not.toBeNull()
      writeFileSync(path.join(project, "vitest.config.ts"), `import { defineConfig } from "vitest/config"\n${config![1]}\n`)
      writeFileSync(path.join(project, "example.test.ts"), readmeExample())
      const tested = await run(path.join(project, "node_modules/.bin/vitest"), ["run", "--reporter", "verbose", "--testTimeout", "120000", "--hookTimeout", "180000"], project, testEnv)
      expect(plain(tested.stdout + tested.stderr)).toMatch(/Tests\s+2 passed \(2\)/)
      expect(tested.code).toBe(0)
    } finally {
      await registry.close()
    }
  }, 2_400_000)
})
