import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import * as Cli from "../support/cli.js"

const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), "llmtrace-cli-help-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

// Off a terminal and with NO_COLOR, as a pager or a CI log shows it.
const help = (command: ReadonlyArray<string>) => Cli.cli(scratch, [...command, "--help"], { LLMTRACE_STORAGE_PROFILE: "memory", NO_COLOR: "1" })

const globalFlags = "[--profile memory | lite | production] [--data-dir text]"

/** The usage: the line after USAGE, with its continuation lines, as one line. */
const usage = (stdout: string) => {
  const lines = stdout.split("\n")
  const start = lines.findIndex((l) => l.startsWith("$ "))
  const end = lines.findIndex((l, i) => i > start && l.trim() === "")
  return lines.slice(start, end).map((l) => l.trim()).join(" ")
}

/** The commands the program's help lists: the first column of its COMMANDS section. */
const listed = (stdout: string) =>
  stdout.slice(stdout.indexOf("\nCOMMANDS\n")).split("\n").filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s{2,}/)[0]!)

describe("llmtrace-storage --help", () => {
  it("the program's help and every command's it lists: no line longer than 100 columns, no ANSI code", async () => {
    const program = await help([])
    expect(program.code).toBe(0)
    const commands = listed(program.stdout)
    expect(commands).toEqual(expect.arrayContaining(["demo", "migrate", "health", "ingest", "stats", "query", "purge", "replay-dead-letters", "tenants", "tenants list", "tenants create", "tenants delete"]))
    const results = [program, ...(await Promise.all(commands.map((c) => help(c.split(" ")))))]
    results.forEach((result, i) => {
      const name = ["(program)", ...commands][i]!
      expect(result.code, name).toBe(0)
      expect(result.stdout, name).toContain("USAGE")
      expect(result.stdout, name).not.toContain("\u001b[")
      const tooLong = result.stdout.split("\n").filter((line) => line.length > 100)
      expect(tooLong, name).toEqual([])
    })
  }, 300_000)

  it("a command's usage starts with the program and its global flags, then the command path and its own flags and arguments", async () => {
    const [program, ingest, create, tenants] = await Promise.all([help([]), help(["ingest"]), help(["tenants", "create"]), help(["tenants"])])
    expect(usage(program!.stdout)).toBe(`$ llmtrace-storage ${globalFlags} <command>`)
    expect(usage(ingest!.stdout)).toBe(`$ llmtrace-storage ${globalFlags} ingest [--allow-bad-lines] [--known-tenants-only] [--max-line-bytes integer] [--format jsonl | otlp] [--tenant text] <FILE>`)
    expect(usage(create!.stdout)).toBe(`$ llmtrace-storage ${globalFlags} tenants create --name text [--plan text] [--token text] [--allow-duplicate-name]`)
    expect(usage(tenants!.stdout)).toBe(`$ llmtrace-storage ${globalFlags} tenants <command>`)
    expect(listed(tenants!.stdout)).toEqual(["create", "delete", "list"])
  }, 120_000)
})
