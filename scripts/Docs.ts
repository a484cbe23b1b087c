/**
 * API docs in docs/api/ from the doc comments, by @effect/docgen, which first type-checks every `@example` block
 * (tsc) and runs them all in one process (tsx): `npm run docs` fails when an example does not compile or throws.
 *
 * Examples import the package as users do (`from "llmtrace-storage"`, `from "llmtrace-storage/testing"`); each
 * subpath of package.json's `exports` resolves to its source (dist/X.js → src/X.ts) through `paths`, so no build is
 * needed and a new entry needs no change here.
 *
 * docgen reads its settings, the project's name and a homepage from the docgen.json and package.json of its working
 * directory, and rewrites an example's import of the project's own name to `../../src` (right only for an output
 * directory one level deep). So it runs in a scratch directory under .tmp/, whose `src` links to ours, under another
 * name; the pages are then copied to docs/api/ (generated, so gitignored: etc/api is the reviewed record of the API).
 */
import { spawnSync } from "node:child_process"
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const work = path.join(root, ".tmp/docgen")
const target = path.join(root, "docs/api")

const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly name: string
  readonly exports: Record<string, unknown>
}

/** The JavaScript file of an export target (nested conditions included), if any. */
const importOf = (target: unknown): string | undefined => {
  if (typeof target === "string") return target.endsWith(".js") ? target : undefined
  if (typeof target !== "object" || target === null) return undefined
  const conditions = target as Record<string, unknown>
  for (const key of ["import", "default"]) if (typeof conditions[key] === "string") return conditions[key]
  for (const value of Object.values(conditions)) {
    const found = importOf(value)
    if (found !== undefined) return found
  }
  return undefined
}

/** Each entry's specifier and source file: "llmtrace-storage/testing" → src/testing/index.ts. */
const entries = Object.entries(pkg.exports).flatMap(([subpath, target]) => {
  const file = importOf(target)
  if (file === undefined) return []
  const source = file.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")
  return [{ specifier: subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, source }]
})
const paths = Object.fromEntries(entries.map((e) => [e.specifier, [path.join(root, e.source)]]))

const compilerOptions = {
  target: "ES2022",
  lib: ["ES2024"],
  module: "NodeNext",
  moduleResolution: "NodeNext",
  types: ["node"],
  strict: true,
  noEmit: true,
  skipLibCheck: true
}

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
symlinkSync(path.join(root, "src"), path.join(work, "src"), "dir")
// Not the package's name, so docgen leaves the examples' imports to `paths`; a module, as the package is.
writeFileSync(path.join(work, "package.json"), JSON.stringify({ name: `${pkg.name}-docs`, homepage: "", type: "module" }))
writeFileSync(path.join(work, "docgen.json"), JSON.stringify({
  srcDir: "src",
  outDir: "docs",
  // The CLI is a program, not API; internal/ is implementation; an entry file only re-exports modules that are
  // documented on their own (and docgen wants a comment on each re-export).
  exclude: ["src/cli/**", "src/internal/**", ...entries.map((e) => e.source)],
  enforceVersion: false,
  enableSearch: true,
  parseCompilerOptions: compilerOptions,
  examplesCompilerOptions: { ...compilerOptions, paths }
}, null, 2))

const bin = path.join(root, "node_modules/.bin")
const docgen = fileURLToPath(import.meta.resolve("@effect/docgen"))
const result = spawnSync(process.execPath, [docgen], {
  cwd: work,
  stdio: "inherit",
  // docgen starts tsc and tsx by name.
  env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` }
})
if (result.status !== 0) process.exit(result.status ?? 1)

rmSync(target, { recursive: true, force: true })
cpSync(path.join(work, "docs"), target, { recursive: true })
// docgen 0.5 leaves a blank line after the front matter's opening `---`, which prettier then prints as a rule (`***`):
// the page's title block becomes a heading instead of the front matter the site theme reads.
for (const file of readdirSync(path.join(target, "modules"), { recursive: true, encoding: "utf8" })) {
  if (!file.endsWith(".md")) continue
  const page = path.join(target, "modules", file)
  writeFileSync(page, readFileSync(page, "utf8").replace(/^\*\*\*\n\n(title: )/, "---\n$1"))
}
rmSync(work, { recursive: true, force: true })
console.log(`API docs in ${path.relative(root, target)}/`)
