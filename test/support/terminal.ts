import { spawn } from "node:child_process"
import { command } from "./cli.js"

// `llmtrace-storage ARGS` on a real pseudo-terminal (python3's `pty` module; no npm dependency), as a person runs it:
// standard input, output and error are all the terminal, so `isatty` holds for each.

/**
 * Forks the command on a new pseudo-terminal (100 columns, 30 rows), copies what it prints to our standard output and
 * what we write to its keyboard, forwards SIGTERM and SIGINT to it, and exits with its exit code (128 + n for a
 * signal it did not handle).
 */
const runner = `
import fcntl, os, pty, select, signal, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
def forward(signum, _frame):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)
sources = [fd, 0]
while fd in sources:
    ready, _, _ = select.select(sources, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if data:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            sources.remove(fd)
    if 0 in ready:
        data = os.read(0, 1024)
        if data:
            os.write(fd, data)
        else:
            sources.remove(0)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
`

export interface OnTerminal {
  /** Everything the terminal showed so far (output and echoed keys; line ends as CRLF). */
  readonly screen: () => string
  /** Resolves when the screen shows something matching `pattern`. */
  readonly shows: (pattern: RegExp) => Promise<void>
  /** Types `keys` on the terminal's keyboard. */
  readonly type: (keys: string) => void
  readonly signal: (signal: NodeJS.Signals) => void
  /** Resolves with the exit code and the whole screen. */
  readonly done: Promise<{ readonly code: number; readonly screen: string }>
}

/** Runs `llmtrace-storage ARGS` in `cwd` on a pseudo-terminal, with no `LLMTRACE_*` variable but those of `env`. */
export const onTerminal = (cwd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): OnTerminal => {
  const environment = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LLMTRACE_"))),
    TERM: "xterm",
    ...env
  }
  const [node, nodeArgs] = command(args)
  const child = spawn("python3", ["-c", runner, node, ...nodeArgs], { cwd, env: environment, stdio: ["pipe", "pipe", "inherit"] })
  let screen = ""
  const waiting = new Set<() => void>()
  child.stdout.on("data", (d: Buffer) => {
    screen += d.toString()
    for (const check of waiting) check()
  })
  const done = new Promise<{ code: number; screen: string }>((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, screen })))
  const shows = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(screen)) {
          waiting.delete(check)
          resolve()
        }
      }
      waiting.add(check)
      check()
      void done.then(() => {
        if (waiting.delete(check)) reject(new Error(`exited before showing ${String(pattern)}: ${screen}`))
      })
    })
  return {
    screen: () => screen,
    shows,
    type: (keys) => child.stdin.write(keys),
    signal: (signal) => child.kill(signal),
    done
  }
}

/** The screen without ANSI escape sequences. */
// eslint-disable-next-line no-control-regex -- the escape character starts every ANSI sequence
export const plain = (screen: string): string => screen.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
