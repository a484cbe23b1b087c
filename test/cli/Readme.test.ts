import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Cli from "../support/cli.js"

// The README's sample outputs, compared with what the commands print in a fresh directory standing in for
// /tmp/readme-demo (the README's): paths and durations are the only differences allowed.
const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8")
const examples = fileURLToPath(new URL("../../examples/spans.jsonl", import.meta.url))
const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-readme-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const sample = (name: string): string => {
  const match = new RegExp(`<!-- sample: ${name} -->\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\``).exec(readme)
  if (match === null) throw new Error(`README has no sample ${name}`)
  return match[1]!
}

/** Paths as the README's, durations as its, and table columns compared by content (a path's length moves them). */
const normal = (text: string) =>
  text.split(scratch).join("/tmp/readme-demo").replace(/ in \d+\.\d s;/g, " in 1.1 s;").trimEnd()
    .split("\n").map((line) => (/^[- ]+$/.test(line) ? "---" : line.replace(/ {2,}/g, "  "))).join("\n")
const cli = (args: ReadonlyArray<string>) => Cli.cli(scratch, args)

describe("README sample outputs", () => {
  it("migrate, ingest and replay-dead-letters print what the README shows", async () => {
    const dryRun = await cli(["migrate", "--dry-run"])
    expect(normal(dryRun.stdout)).toBe(normal(sample("migrate-dry-run")))
    const json = await cli(["migrate", "--dry-run", "--json"])
    expect(normal(json.stdout)).toBe(normal(sample("migrate-dry-run-json")))

    expect((await cli(["demo"])).code).toBe(0)
    const [command, ...output] = sample("ingest-examples").split("\n")
    expect(command).toBe("$ llmtrace-storage ingest examples/spans.jsonl")
    expect(normal((await cli(["ingest", examples])).stdout)).toBe(normal(output.join("\n")))

    const file = path.join(scratch, "bad.jsonl")
    const span = { traceId: "a0000000-0000-4000-8000-000000000009", tenantId: "f1f5dce2-fe0e-5503-bb00-e4873ed2f7fe", operationName: "chat_completion", provider: "OpenAI", modelName: "gpt-4o", prompt: "Hi" }
    writeFileSync(file, [JSON.stringify(span), "{oops", JSON.stringify({ ...span, securityScore: 150 })].join("\n") + "\n")
    const bad = await cli(["ingest", file])
    const stderr = bad.stderr.trim().split("\n")
    const printed = [...stderr.filter((l) => l.startsWith("line ")), ...bad.stdout.trim().split("\n"), ...stderr.filter((l) => l.startsWith("error:"))]
    expect(normal(printed.join("\n"))).toBe(normal(sample("ingest-bad-lines")))
    expect(bad.code).toBe(2)

    const replay = /\$ llmtrace-storage replay-dead-letters\n(.*)\n/.exec(readme)![1]
    expect(normal((await cli(["replay-dead-letters"])).stdout)).toBe(normal(replay!))
  }, 300_000)
})
