/**
 * The public API report: one `etc/api/<entry>.api.md` per entry of package.json's `exports` map, made by API Extractor
 * from the built declarations in dist/ (run `npm run build` first; the npm scripts do).
 *
 *   tsx scripts/ApiReport.ts --check   fails when a report differs from the checked-in one, printing the diff
 *   tsx scripts/ApiReport.ts --update  rewrites the reports (and removes those of entries that are gone)
 *
 * Entries come from the exports map alone, so adding, renaming or removing an entry needs no change here.
 */
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel, type ExtractorMessage, type IConfigFile } from "@microsoft/api-extractor"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const reportFolder = path.join(root, "etc/api")
// API Extractor writes each report here before comparing it with the checked-in one.
const tempFolder = path.join(root, ".tmp/api-report")
const suffix = ".api.md"

const mode = process.argv[2]
if (mode !== "--check" && mode !== "--update") {
  console.error("usage: tsx scripts/ApiReport.ts --check | --update")
  process.exit(2)
}
const update = mode === "--update"

interface Entry {
  /** The subpath as users import it: ".", "./testing/vitest". */
  readonly subpath: string
  /** The report's name: "index", "testing-vitest". */
  readonly name: string
  /** Absolute path of the entry's declaration file in dist/. */
  readonly types: string
}

/** The `types` target of an export condition object (nested conditions included), if any. */
const typesOf = (target: unknown): string | undefined => {
  if (typeof target === "string") return target.endsWith(".d.ts") ? target : undefined
  if (typeof target !== "object" || target === null) return undefined
  const conditions = target as Record<string, unknown>
  if (typeof conditions.types === "string") return conditions.types
  for (const value of Object.values(conditions)) {
    const found = typesOf(value)
    if (found !== undefined) return found
  }
  return undefined
}

const packageJsonPath = path.join(root, "package.json")
const exportsMap = (JSON.parse(readFileSync(packageJsonPath, "utf8")) as { exports: Record<string, unknown> }).exports
const entries: ReadonlyArray<Entry> = Object.entries(exportsMap).flatMap(([subpath, target]) => {
  const types = typesOf(target)
  if (types === undefined) return [] // ./package.json
  const name = subpath === "." ? "index" : subpath.replace(/^\.\//, "").replaceAll("/", "-")
  return [{ subpath, name, types: path.join(root, types) }]
})

const missing = entries.filter((entry) => !existsSync(entry.types))
if (missing.length > 0) {
  console.error(`no declarations for ${missing.map((e) => `${e.subpath} (${path.relative(root, e.types)})`).join(", ")}: run npm run build first`)
  process.exit(1)
}

const configFor = (entry: Entry): IConfigFile => ({
  projectFolder: root,
  mainEntryPointFilePath: entry.types,
  compiler: {
    overrideTsconfig: {
      compilerOptions: {
        target: "ES2022",
        lib: ["ES2024"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        types: ["node"],
        strict: true,
        skipLibCheck: true
      },
      files: entries.map((e) => e.types)
    }
  },
  apiReport: {
    enabled: true,
    reportFileName: `${entry.name}${suffix}`,
    reportFolder,
    reportTempFolder: tempFolder,
    // Effect's services are classes over an unexported `X_base` (Context.Tag, Data.TaggedError): their shape is there.
    includeForgottenExports: true
  },
  docModel: { enabled: false },
  dtsRollup: { enabled: false },
  tsdocMetadata: { enabled: false },
  newlineKind: "lf",
  messages: {
    compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
    extractorMessageReporting: {
      default: { logLevel: ExtractorLogLevel.Warning },
      // Release tags (@public, @beta) are not how this package marks its surface: the exports map is.
      "ae-missing-release-tag": { logLevel: ExtractorLogLevel.None },
      // A type reachable from the API but not exported by the entry: in the report (includeForgottenExports), not an error.
      "ae-forgotten-export": { logLevel: ExtractorLogLevel.None, addToApiReportFile: false },
      // Doc comments are JSDoc for docgen and editors: {@link} names a sibling, and not every field has one.
      "ae-unresolved-link": { logLevel: ExtractorLogLevel.None },
      "ae-undocumented": { logLevel: ExtractorLogLevel.None }
    },
    // The doc comments are JSDoc for docgen and editors, not strict TSDoc.
    tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } }
  }
})

// Said once at the end instead, by entry name (the diff itself is printed in --check mode).
const repeated: ReadonlySet<string> = new Set([
  "console-preamble",
  "console-compiler-version-notice",
  "console-api-report-copied",
  "console-api-report-created",
  "console-api-report-not-copied"
])
const quiet = (message: ExtractorMessage) => {
  if (repeated.has(message.messageId)) message.handled = true
}

mkdirSync(reportFolder, { recursive: true })
let compilerState: CompilerState | undefined
const changed: Array<string> = []
const failed: Array<string> = []
for (const entry of entries) {
  const config = ExtractorConfig.prepare({
    configObject: configFor(entry),
    configObjectFullPath: undefined,
    packageJsonFullPath: packageJsonPath
  })
  // One TypeScript program for every entry: they share most declarations.
  compilerState ??= CompilerState.create(config, { additionalEntryPoints: entries.map((e) => e.types) })
  const result = Extractor.invoke(config, { localBuild: update, compilerState, printApiReportDiff: !update, messageCallback: quiet })
  if (result.apiReportChanged) changed.push(entry.name)
  if (!result.succeeded) failed.push(entry.name)
}

// Reports of entries that are no longer exported.
const current = new Set(entries.map((e) => `${e.name}${suffix}`))
const stale = readdirSync(reportFolder).filter((file) => file.endsWith(suffix) && !current.has(file))
for (const file of stale) {
  if (update) rmSync(path.join(reportFolder, file))
  else console.error(`etc/api/${file}: no entry of package.json's exports has this report; run npm run api:update`)
}

// With --check, a changed report is a warning too: only what is not a change is a problem of its own.
const problems = failed.filter((name) => !changed.includes(name))
if (problems.length > 0) console.error(`API Extractor reported problems for ${problems.join(", ")} (above)`)
if (update) {
  const updated = [...changed, ...stale]
  console.log(updated.length === 0 ? `API reports up to date (${entries.length} entries)` : `API reports updated: ${updated.join(", ")}`)
} else if (changed.length + stale.length > 0) {
  console.error(`\nThe public API differs from etc/api (${[...changed, ...stale].join(", ")}): if that is intended, run npm run api:update and commit etc/api.`)
} else if (problems.length === 0) {
  console.log(`API reports match (${entries.length} entries)`)
}
process.exit(problems.length > 0 || (!update && changed.length + stale.length > 0) ? 1 : 0)
