import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { readFileSync, realpathSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// README's quick start: after `npm ci`, `npx llmtrace-storage …` runs in the checkout. npm never links a root
// package's own bin, so the package depends on itself (`file:.`, a dev dependency) and `prepare` builds dist/.
const root = fileURLToPath(new URL("../..", import.meta.url))

const npx = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    // `--no`: never fetch a package of that name from the registry; only the checkout's own bin counts.
    const env = { ...process.env, NO_COLOR: "1", LLMTRACE_STORAGE_PROFILE: "memory", npm_config_yes: "false" }
    execFile("npx", ["--no", "--", "llmtrace-storage", ...args], { cwd: root, env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

describe("npx llmtrace-storage in a checkout", () => {
  it("the package links its own bin through a file: dependency on itself, built by prepare", () => {
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      scripts: Record<string, string>
      devDependencies: Record<string, string>
      bin: Record<string, string>
    }
    expect(pkg.devDependencies["llmtrace-storage"]).toBe("file:.")
    expect(pkg.scripts.prepare).toBe("npm run build")
    expect(realpathSync(path.join(root, "node_modules/.bin/llmtrace-storage"))).toBe(realpathSync(path.join(root, pkg.bin["llmtrace-storage"]!)))
  })

  it("npx llmtrace-storage --help and health exit 0 from the checkout's root", async () => {
    const help = await npx(["--help"])
    expect(help.stderr).toBe("")
    expect(help.stdout).toMatch(/^llmtrace-storage \d+\.\d+\.\d+/)
    expect(help.code).toBe(0)
    const health = await npx(["health"])
    expect(health.code, health.stdout + health.stderr).toBe(0)
  }, 240_000)
})
