import { afterAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { readmeExample } from "../support/readme.js"

// The package as a user gets it: `npm pack` (whose prepare builds dist/), installed in a scratch project that
// runs the README's testing example against it and typechecks it. The scratch project links the rest of its
// dependencies to ours instead of downloading them again (chdb alone is ~540 MB).
const root = fileURLToPath(new URL("../..", import.meta.url))
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-pack-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> =>
  new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 300_000, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

describe("the packed package", () => {
  it("installs in a scratch project where the README's testing example typechecks and passes, and its types compile under skipLibCheck: false", async () => {
    const packed = await run("npm", ["pack", "--json", "--pack-destination", scratch], root)
    expect(packed.stderr).not.toMatch(/npm error/)
    expect(packed.code).toBe(0)
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    const files = info!.files.map((f) => f.path)
    expect(files).toEqual(expect.arrayContaining(["LICENSE", "dist/index.d.ts", "dist/testing/index.js", "dist/testing/index.d.ts", "dist/cli/main.js"]))
    expect(files.filter((f) => f.startsWith("test/"))).toEqual([])

    const modules = path.join(scratch, "node_modules")
    mkdirSync(modules)
    const untar = await run("tar", ["-xzf", path.join(scratch, info!.filename), "-C", modules], scratch)
    expect(untar.code).toBe(0)
    renameSync(path.join(modules, "package"), path.join(modules, "llmtrace-storage"))
    const ours = realpathSync(path.join(root, "node_modules"))
    for (const name of readdirSync(ours)) {
      if (name.startsWith(".") || name === "llmtrace-storage") continue
      symlinkSync(path.join(ours, name), path.join(modules, name))
    }
    writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }))
    writeFileSync(path.join(scratch, "vitest.config.mjs"), `export default { test: { pool: "forks", testTimeout: 120000, hookTimeout: 180000 } }\n`)
    writeFileSync(path.join(scratch, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
      include: ["example.test.ts"]
    }))
    writeFileSync(path.join(scratch, "example.test.ts"), readmeExample())

    const typecheck = await run(process.execPath, [path.join(ours, "typescript/bin/tsc"), "-p", "tsconfig.json"], scratch)
    expect(typecheck.stdout + typecheck.stderr).toBe("")
    expect(typecheck.code).toBe(0)

    // A consumer that checks every declaration file, ours and our dependencies' (no skipLibCheck): the types
    // a library user sees must resolve from what the package installs (e.g. pg's through @types/pg).
    writeFileSync(path.join(scratch, "consumer.ts"), [
      `import { StorageProfile, TraceSpan } from "llmtrace-storage"`,
      `import { Arbitraries, Fixtures, TestStorage } from "llmtrace-storage/testing"`,
      `import { CacheContract } from "llmtrace-storage/testing/vitest"`,
      `export const used = [StorageProfile, TraceSpan, Arbitraries, Fixtures, TestStorage, CacheContract] as const`,
      ``
    ].join("\n"))
    writeFileSync(path.join(scratch, "tsconfig.strict.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, types: ["node"] },
      files: ["consumer.ts"]
    }))
    const strict = await run(process.execPath, [path.join(ours, "typescript/bin/tsc"), "-p", "tsconfig.strict.json"], scratch)
    expect(strict.stdout + strict.stderr).toBe("")
    expect(strict.code).toBe(0)

    // No LLMTRACE_* variable: fromEnv runs on lite in a temporary directory.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_") && !k.startsWith("VITEST") && k !== "FORCE_COLOR"))
    const tested = await run(process.execPath, [path.join(ours, "vitest/vitest.mjs"), "run", "--reporter", "verbose"], scratch, env)
    // eslint-disable-next-line no-control-regex
    expect((tested.stdout + tested.stderr).replace(/\u001b\[[0-9;]*m/g, "")).toMatch(/Tests\s+2 passed \(2\)/)
    expect(tested.code).toBe(0)
  }, 600_000)
})
