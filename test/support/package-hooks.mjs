// Module hooks (module.register) that record, one a line in the file named by `data.log`, the package every
// ESM import resolves into: what a process loaded, told apart by package name (entry-drivers-child.ts).
import { appendFileSync } from "node:fs"

let log = ""

export const initialize = (data) => {
  log = data.log
}

export const resolve = async (specifier, context, next) => {
  const resolved = await next(specifier, context)
  const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(decodeURIComponent(resolved.url))
  if (inPackage !== null) appendFileSync(log, `${inPackage[1]}\n`)
  return resolved
}
