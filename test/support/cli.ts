import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// The real command in a child process, the way an operator runs it.
const root = fileURLToPath(new URL("../..", import.meta.url))
const tsx = path.join(root, "node_modules/.bin/tsx")
const main = path.join(root, "src/cli/main.ts")

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `llmtrace-storage ARGS` in `cwd` with no `LLMTRACE_*` variable but those of `env`. */
export const cli = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Result> =>
  new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_")))
    execFile(tsx, [main, ...args], { cwd, env: { ...clean, ...env }, timeout: 120_000, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })
