import { closeSync, openSync } from "node:fs"
import { isatty } from "node:tty"

/**
 * Points file descriptor 0 at /dev/null unless the command reads standard input (an argument `-`,
 * as in `ingest -`) or it is a terminal. The embedded ClickHouse engine reads a non-terminal standard
 * input as the data of every INSERT it runs (chdb-core#239): `echo x | llmtrace-storage ingest FILE`
 * would otherwise hand it `x`. Runs before anything opens `process.stdin`; `open` takes the lowest
 * free descriptor, which is 0 once it is closed.
 */
export const detachUnlessRead = (args: ReadonlyArray<string>): void => {
  if (args.includes("-") || isatty(0)) return
  try {
    closeSync(0)
  } catch {
    // already closed: the open below takes its place
  }
  const fd = openSync("/dev/null", "r")
  if (fd !== 0) closeSync(fd)
}
