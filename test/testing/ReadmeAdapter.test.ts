import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

// The README's "Writing your own adapter" block, run as written (its package imports pointed at the
// sources): a Map-backed Cache named "map-cache" passes the exported CacheContract.
const root = fileURLToPath(new URL("../..", import.meta.url))
const block = /<!-- adapter-example -->\n```ts\n([\s\S]*?)```/.exec(readFileSync(path.join(root, "README.md"), "utf8"))
if (block === null) throw new Error("README.md has no <!-- adapter-example --> block")
const source = block[1]!
  .replace(`from "llmtrace-storage/testing/vitest"`, `from ${JSON.stringify(path.join(root, "src/testing/vitest.js"))}`)
  .replace(`from "llmtrace-storage"`, `from ${JSON.stringify(path.join(root, "src/index.js"))}`)
const file = path.join(root, ".tmp", `readme-adapter-${process.pid}.ts`)
writeFileSync(file, source)
await import(file)
