import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as YAML from "yaml"
import { readmeExample } from "../support/readme.js"

// What can be checked here of the package, the image and the pipelines without npm's registry, a Docker
// engine or GitHub: the files themselves. (No Docker engine runs on our machines: the image is built and
// scanned only by the hosted workflows.)
const root = fileURLToPath(new URL("../..", import.meta.url))
const read = (file: string) => readFileSync(path.join(root, file), "utf8")
const json = <A>(file: string) => JSON.parse(read(file)) as A

interface PackageJson {
  readonly version: string
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>
  readonly optionalDependencies?: Record<string, string>
  readonly scripts: Record<string, string>
  readonly exports: Record<string, unknown>
  readonly files: ReadonlyArray<string>
}
interface LockEntry {
  readonly version?: string
  readonly optionalDependencies?: Record<string, string>
  readonly os?: ReadonlyArray<string>
  readonly cpu?: ReadonlyArray<string>
}
const pkg = json<PackageJson>("package.json")

describe("package", () => {
  it("effect and every @effect/* package are peer dependencies (with a dev copy for our tests), never plain dependencies", () => {
    const effectish = (name: string) => name === "effect" || name.startsWith("@effect/")
    expect(Object.keys(pkg.dependencies ?? {}).filter(effectish)).toEqual([])
    const peers = Object.keys(pkg.peerDependencies ?? {}).filter(effectish)
    expect(peers).toContain("effect")
    for (const name of peers) expect(pkg.devDependencies?.[name], name).toBeDefined()
    // Only the test kit's runners and the CLI's own are optional: the library does not load without effect.
    const optional = Object.entries(pkg.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional === true).map(([name]) => name)
    expect(optional.sort()).toEqual(["@effect/cli", "@effect/printer", "@effect/printer-ansi", "@effect/vitest", "vitest"])
  })

  it("the README's testing example is the one test/testing/Example.test.ts runs (imports aside)", () => {
    const ours = read("test/testing/Example.test.ts")
      .replace('"../../src/testing/index.js"', '"llmtrace-storage/testing"')
      .replace('"../../src/index.js"', '"llmtrace-storage"')
    expect(ours).toBe(readmeExample())
  })

  it("ships a LICENSE, builds dist/ before it is packed, and declares a bin that the build emits", () => {
    expect(read("LICENSE")).toMatch(/^MIT License/)
    // prepare runs before npm pack and npm publish, and after npm ci in a checkout.
    expect(pkg.scripts.prepare).toBe("npm run build")
    expect(pkg.files).toContain("dist")
  })

  it("the lockfile holds every platform package a locked package names as optional, so npm ci accepts it on any platform", () => {
    // npm install on one platform drops the others' optional packages (chdb's engines): npm ci elsewhere then refuses.
    const packages = json<{ packages: Record<string, LockEntry> }>("package-lock.json").packages
    const missing: Array<string> = []
    for (const [where, entry] of Object.entries(packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        const nested = `${where === "" ? "" : `${where}/`}node_modules/${name}`
        if (packages[nested] === undefined && packages[`node_modules/${name}`] === undefined) missing.push(`${name} (for ${where || "the root"})`)
      }
    }
    expect(missing).toEqual([])
    // A platform package must say its platform, or npm would try to install it everywhere.
    for (const [where, entry] of Object.entries(packages)) {
      if (where.startsWith("node_modules/@chdb/lib-")) expect([entry.os, entry.cpu], where).toEqual([expect.any(Array), expect.any(Array)])
    }
  })

  it("a test file that needs a live service is named *.live.test.ts, so test:unit never needs one", () => {
    const files = (dir: string): Array<string> =>
      readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((d) =>
        d.isDirectory() ? files(path.join(dir, d.name)) : d.name.endsWith(".test.ts") ? [path.join(dir, d.name)] : [])
    const live = /from "\.\.\/support\/(postgres|redis|redisServer)\.js"|describeLive\(/
    const misnamed = files("test").filter((file) => live.test(read(file)) && !file.endsWith(".live.test.ts"))
    expect(misnamed).toEqual([])
  })
})

describe("image", () => {
  const dockerfile = read("Dockerfile")
  const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[2])
  const final = dockerfile.slice(dockerfile.search(/^FROM\s+\S+\s+AS\s+runtime/im))

  it("builds in one stage and runs from another, as a non-root user, with the CLI as entry point and no health check", () => {
    expect(stages).toEqual(["build", "runtime"])
    expect(dockerfile).toMatch(/^RUN npm ci\b/m)
    expect(final).toMatch(/--omit=dev/)
    const user = /^USER\s+(\S+)/m.exec(final)?.[1]
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^(root|0)$/)
    expect(final).toContain('ENTRYPOINT ["llmtrace-storage"]')
    expect(dockerfile).not.toMatch(/^HEALTHCHECK/m)
  })

  it("leaves the embedded engine out unless WITH_CHDB=true, and strips source maps and sources from the image", () => {
    expect(final).toMatch(/^ARG WITH_CHDB=false/m)
    expect(final).toMatch(/--omit=optional/)
    expect(final).toMatch(/-name '\*\.map' -delete/)
    expect(final).toMatch(/rm -rf node_modules\/llmtrace-storage\/src/)
    expect(final).not.toMatch(/COPY (test|bench)\b/)
  })

  it(".dockerignore keeps tests, data directories, dependencies and secrets out of the build context", () => {
    const ignored = read(".dockerignore").split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"))
    for (const entry of ["test", ".llmtrace", "node_modules", ".tmp", ".env", ".git"]) expect(ignored, entry).toContain(entry)
  })
})

describe("workflows", () => {
  interface Step {
    readonly name?: string
    readonly uses?: string
    readonly run?: string
    readonly if?: string
    readonly with?: Record<string, unknown>
  }
  interface Job {
    readonly needs?: string | ReadonlyArray<string>
    readonly if?: string
    readonly "continue-on-error"?: boolean
    readonly permissions?: Record<string, string>
    readonly strategy?: { readonly matrix?: { readonly node?: ReadonlyArray<number>; readonly include?: ReadonlyArray<Record<string, unknown>> } }
    readonly steps: ReadonlyArray<Step>
  }
  interface Workflow {
    readonly on: Record<string, unknown>
    readonly jobs: Record<string, Job>
  }
  const workflow = (file: string) => YAML.parse(read(file)) as Workflow
  const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n")
  const trivy = (job: Job) => job.steps.filter((s) => s.uses?.startsWith("aquasecurity/trivy-action") === true)
  const needs = (job: Job) => (typeof job.needs === "string" ? [job.needs] : job.needs ?? [])

  it("ci: npm ci everywhere, Node 20/22/24 and macOS, the live suites on the compose services, advisory scans on pull requests", () => {
    const ci = workflow(".github/workflows/ci.yml")
    for (const [name, job] of Object.entries(ci.jobs)) expect(runs(job), name).not.toMatch(/npm install(?! -y)/)
    expect(runs(ci.jobs.unit!)).toContain("npm ci")
    expect(ci.jobs.unit!.strategy?.matrix?.node).toEqual([20, 22, 24])
    expect(ci.jobs.unit!.strategy?.matrix?.include).toContainEqual(expect.objectContaining({ os: "macos-latest" }))
    expect(runs(ci.jobs.integration!)).toMatch(/redis-server/)
    expect(runs(ci.jobs.integration!)).toMatch(/docker compose up/)
    const scan = ci.jobs.scan!
    expect(scan.if).toContain("pull_request")
    expect(scan["continue-on-error"]).toBe(true)
    expect(trivy(scan).map((s) => s.with?.["exit-code"])).toEqual(["0", "0"])
  })

  it("release: on tags, test, then Trivy gates on CRITICAL/HIGH for the image and the lockfile with SARIF, then a signed publish and the image push", () => {
    const release = workflow(".github/workflows/release.yml")
    expect(release.on).toEqual({ push: { tags: ["v*"] } })
    const scan = release.jobs.scan!
    expect(needs(scan)).toContain("test")
    const gates = trivy(scan)
    expect(gates.map((s) => [s.with?.["scan-type"] ?? "image", s.with?.severity, s.with?.["exit-code"], s.with?.format])).toEqual([
      ["image", "CRITICAL,HIGH", "1", "sarif"],
      ["fs", "CRITICAL,HIGH", "1", "sarif"]
    ])
    expect(gates[1]!.with?.["scan-ref"]).toBe("package-lock.json")
    expect(scan.steps.filter((s) => s.uses?.startsWith("github/codeql-action/upload-sarif") === true && s.if === "always()")).toHaveLength(2)
    expect(scan.permissions?.["security-events"]).toBe("write")
    const publish = release.jobs.publish!
    expect(needs(publish)).toContain("scan")
    expect(runs(publish)).toContain("npm publish --provenance")
    expect(publish.permissions?.["id-token"]).toBe("write")
    expect(needs(release.jobs.image!)).toContain("scan")
    expect(runs(release.jobs.image!)).toMatch(/docker push/)
  })

  it(".ci/run installs with npm ci", () => {
    expect(read(".ci/run")).toMatch(/^npm ci\b/m)
    expect(read(".ci/run")).not.toMatch(/^npm install\b/m)
    expect(existsSync(path.join(root, ".github/workflows/ci.yml"))).toBe(true)
  })
})
