import { mkdirSync, statSync } from "node:fs"
import * as path from "node:path"

const code = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code

/**
 * Creates `dir` and its missing parents, failing at the first one that cannot be made. Node's own
 * `mkdir(…, { recursive: true })` loops forever under `/proc` (the kernel answers ENOENT for a name
 * whose parent exists, and Node retries the parent), holding the event loop so that not even
 * SIGTERM is handled: here each missing directory is made once, from the nearest one that exists.
 */
export const make = (dir: string): void => {
  const missing: Array<string> = []
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    let isDirectory: boolean
    try {
      isDirectory = statSync(at).isDirectory()
    } catch (error) {
      if (code(error) !== "ENOENT" || path.dirname(at) === at) throw error
      missing.push(at)
      continue
    }
    if (!isDirectory) throw Object.assign(new Error(`EEXIST: file already exists and is not a directory, mkdir '${at}'`), { code: "EEXIST" })
    break
  }
  for (const at of missing.reverse()) {
    try {
      mkdirSync(at)
    } catch (error) {
      // Made by another process meanwhile: fine when it is a directory.
      if (code(error) !== "EEXIST" || !statSync(at).isDirectory()) throw error
    }
  }
}
