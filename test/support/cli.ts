import { type ChildProcess, execFile, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

// The real command in a child process, the way an operator runs it: one Node process with tsx's loader, as the
// installed bin is one process. (The `tsx` command runs the script in a child and, when that child does not
// acknowledge a relayed SIGTERM or SIGINT within 30 ms, as while the embedded engine inserts, kills it with SIGKILL.)
const root = fileURLToPath(new URL("../..", import.meta.url))
const main = path.join(root, "src/cli/main.ts")
/** The command line that runs `llmtrace-storage ARGS` from the sources. */
export const command = (args: ReadonlyArray<string>): [string, Array<string>] => [
  process.execPath,
  ["--import", pathToFileURL(path.join(root, "node_modules/tsx/dist/loader.mjs")).href, main, ...args]
]

export interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** From {@link start}: the signal that killed the process, if it did not exit by itself (`code` is then 128 + n). */
  readonly signal?: NodeJS.Signals | null
}

/** The environment without any `LLMTRACE_*` variable, plus `env`. */
const environment = (env: Record<string, string>) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_"))),
  ...env
})

/**
 * Runs `llmtrace-storage ARGS` in `cwd` with no `LLMTRACE_*` variable but those of `env`; `input` is piped to its standard
 * input.
 */
export const cli = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string | Uint8Array): Promise<Result> =>
  new Promise((resolve) => {
    const options = { cwd, env: environment(env), timeout: 120_000, maxBuffer: 16 * 2 ** 20 }
    const child = execFile(...command(args), options, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    if (input !== undefined) child.stdin?.end(input)
    else child.stdin?.end()
  })

export interface Running {
  readonly child: ChildProcess
  /** Resolves when standard error has printed something matching `pattern`. */
  readonly stderrMatches: (pattern: RegExp) => Promise<void>
  /** Resolves with the exit code (128 + n for a signal the process did not handle) and everything printed. */
  readonly done: Promise<Result>
}

/** Starts `llmtrace-storage ARGS` with a standard input the test writes to and closes (or none: `stdin: "ignore"`). */
export const start = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, stdin: "pipe" | "ignore" = "pipe"): Running => {
  const child = spawn(...command(args), { cwd, env: environment(env), stdio: [stdin, "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  const waiting = new Set<() => void>()
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString()
    for (const check of waiting) check()
  })
  const done = new Promise<Result>((resolve) =>
    child.on("close", (code, signal) => resolve({ code: code ?? 128 + (signal === "SIGTERM" ? 15 : signal === "SIGINT" ? 2 : 0), stdout, stderr, signal })))
  const stderrMatches = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stderr)) {
          waiting.delete(check)
          resolve()
        }
      }
      waiting.add(check)
      check()
      void done.then(() => {
        if (waiting.delete(check)) reject(new Error(`exited before printing ${String(pattern)}: ${stderr}`))
      })
    })
  return { child, stderrMatches, done }
}

/**
 * Sends `signal` and waits for the exit, at most `bound` ms: a command still running then is killed and the promise
 * fails. The bound guards against a hang (a connection or a request that never ends), far above a normal stop; it
 * is not a measure of speed.
 */
export const stop = (running: Running, signal: NodeJS.Signals = "SIGTERM", bound = 60_000): Promise<Result> => {
  running.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      running.child.kill("SIGKILL")
      reject(new Error(`still running ${bound / 1000} s after ${signal}`))
    }, bound)
  })
  return Promise.race([running.done, late]).finally(() => clearTimeout(timer))
}
