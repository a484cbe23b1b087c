import * as CliConfig from "@effect/cli/CliConfig"
import * as BuiltInOptions from "@effect/cli/BuiltInOptions"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as CommandDirective from "@effect/cli/CommandDirective"
import * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Doc from "@effect/printer/Doc"
import * as Ansi from "@effect/printer-ansi/Ansi"
import * as AnsiDoc from "@effect/printer-ansi/AnsiDoc"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"

/**
 * `--help`, rendered here rather than by @effect/cli, whose help has no page width (it pads the
 * command list to its longest usage, some 300 columns, and never wraps a description) and whose
 * subcommand usage leaves out the program and its global flags. The content is @effect/cli's own
 * (descriptions, arguments, options from the command descriptors); only the layout is ours.
 */

/** At most this many columns per line. */
export const width = 100

/** A command and the subcommands under it. */
export interface Node {
  readonly name: string
  readonly descriptor: CommandDescriptor.Command<unknown>
  readonly children: ReadonlyArray<Node>
}

/**
 * The node of a command. Its subcommands are read from the descriptor (by name: @effect/cli keeps
 * them in a map) unless given: @effect/cli gives a subcommand that has subcommands of its own without
 * them, so the program passes its commands.
 */
export const node = (descriptor: CommandDescriptor.Command<unknown>, children?: ReadonlyArray<Node>): Node => {
  const name = Array.from(CommandDescriptor.getNames(descriptor))[0] ?? ""
  const found = Array.from(HashMap.values(CommandDescriptor.getSubcommands(descriptor)))
    .filter((d) => !HashSet.has(CommandDescriptor.getNames(d), name))
    .map((d) => node(d))
    .sort((a, b) => a.name.localeCompare(b.name))
  return { name, descriptor, children: children ?? found }
}

/** What the command line asks before anything runs: help, a usage error, or to run the command. */
export type Request =
  | { readonly _tag: "Help"; readonly path: ReadonlyArray<Node> }
  | { readonly _tag: "UsageError"; readonly path: ReadonlyArray<Node>; readonly message: string }
  | { readonly _tag: "Run" }

/**
 * Parses the arguments as @effect/cli does, before running anything: `-h`/`--help` where it accepts
 * them is help for the commands from the program to the one asked; arguments it refuses are a usage
 * error with its message on one line (printed by {@link usageError} instead of @effect/cli's text).
 */
export const request = (program: Node, args: ReadonlyArray<string>) =>
  CommandDescriptor.parse(program.descriptor, [program.name, ...args], CliConfig.defaultConfig).pipe(
    Effect.map((directive): Request =>
      CommandDirective.isBuiltIn(directive) && BuiltInOptions.isShowHelp(directive.option) ? { _tag: "Help", path: pathOf(program, args) } : { _tag: "Run" }
    ),
    Effect.catchAll((error): Effect.Effect<Request> =>
      Effect.succeed(
        ValidationError.isValidationError(error) && !ValidationError.isHelpRequested(error)
          ? { _tag: "UsageError", path: pathOf(program, args), message: HelpDoc.toAnsiText(error.error).replace(ansi, "").replace(/\s+/g, " ").trim() }
          : { _tag: "Run" }
      )
    )
  )

// eslint-disable-next-line no-control-regex -- the escape character starts every ANSI sequence
const ansi = /\u001b\[[0-9;]*m/g

/** `error: …` and the usage of the command it concerns, with where to read more. */
export const usageError = (program: { readonly name: string }, path: ReadonlyArray<Node>, message: string): string =>
  [
    `error: ${message}`,
    AnsiDoc.render(Doc.hcat([Doc.text("usage: "), Doc.align(usageLine(path))]), { style: "pretty", options: { lineWidth: width } }).replace(ansi, ""),
    `(${[program.name, ...path.slice(1).map((n) => n.name), "--help"].join(" ")} for more)`
  ].join("\n")

/** Subcommands are found by name, as @effect/cli finds them: the first argument naming one, at each level. */
const pathOf = (program: Node, args: ReadonlyArray<string>): ReadonlyArray<Node> => {
  const path = [program]
  for (const arg of args) {
    const child = path[path.length - 1]!.children.find((c) => c.name === arg)
    if (child !== undefined) path.push(child)
  }
  return path
}

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    default:
      return spanText(span.value)
  }
}

const blocks = (doc: HelpDoc.HelpDoc): ReadonlyArray<HelpDoc.HelpDoc> =>
  doc._tag === "Empty" ? [] : doc._tag === "Sequence" ? [...blocks(doc.left), ...blocks(doc.right)] : [doc]

const isHeader = (doc: HelpDoc.HelpDoc, title: string) => doc._tag === "Header" && spanText(doc.value) === title

/** A command's help without @effect/cli's list of subcommands (the last section), which we lay out ourselves. */
const ownHelp = (descriptor: CommandDescriptor.Command<unknown>) => {
  const all = blocks(CommandDescriptor.getHelp(descriptor, CliConfig.defaultConfig))
  const commands = all.findIndex((b) => isHeader(b, "COMMANDS"))
  return commands < 0 ? all : all.slice(0, commands)
}

/** The paragraph under DESCRIPTION, for the list of subcommands. */
const description = (descriptor: CommandDescriptor.Command<unknown>) => {
  const all = ownHelp(descriptor)
  const next = all[all.findIndex((b) => isHeader(b, "DESCRIPTION")) + 1]
  return next?._tag === "Paragraph" ? spanText(next.value) : ""
}

/**
 * What @effect/cli says of every option of a type ("A user-defined piece of text.", "This setting is
 * optional.": the usage says it already with its brackets) is left out; a default is kept, shortly.
 */
const filler = /^(A true or false value\.|A user-defined piece of text\.|An integer\.|A floating point number\.|A date without a time-zone.*|One of the following: .*|This setting is optional\.|An existing file\.|This option can be set from environment variables\.)$/

const meaningful = (doc: HelpDoc.HelpDoc): ReadonlyArray<HelpDoc.HelpDoc> => {
  if (doc._tag !== "Paragraph") return [doc]
  const text = spanText(doc.value).trim()
  if (text === "" || filler.test(text)) return []
  const defaults = /^This setting is optional\. Defaults to: (.*)$/.exec(text)
  return [defaults === null ? doc : HelpDoc.p(`default: ${defaults[1]}`)]
}

/** Blocks one blank line apart. */
const separated = (docs: ReadonlyArray<AnsiDoc.AnsiDoc>) => Doc.concatWith(docs, (a, b) => Doc.hcat([a, Doc.hardLine, Doc.hardLine, b]))

const bold = (text: string) => Doc.annotate(Doc.text(text), Ansi.bold)

const render = (doc: HelpDoc.HelpDoc): AnsiDoc.AnsiDoc => {
  switch (doc._tag) {
    case "Header":
      return bold(spanText(doc.value))
    case "Paragraph":
      return Doc.reflow(spanText(doc.value))
    case "DescriptionList":
      // A term and what is said of it (no filler) on one line when it fits, else right under it; no blank lines.
      return Doc.concatWith(doc.definitions.map(([term, body]) => {
        const said = blocks(body).flatMap(meaningful)
        const name = spanText(term)
        const only = said.length === 1 && said[0]!._tag === "Paragraph" ? spanText(said[0]!.value) : undefined
        if (said.length === 0) return bold(name)
        if (only !== undefined && name.length + 2 + only.length <= width) return Doc.hcat([bold(name), Doc.text(`  ${only}`)])
        return Doc.hcat([bold(name), Doc.hardLine, Doc.indent(Doc.concatWith(said.map(render), (a, b) => Doc.hcat([a, Doc.hardLine, b])), 2)])
      }), (a, b) => Doc.hcat([a, Doc.hardLine, b]))
    case "Enumeration":
      return Doc.indent(Doc.concatWith(doc.elements.map((e) => Doc.hcat([Doc.text("- "), Doc.align(render(e))])), (a, b) => Doc.hcat([a, Doc.hardLine, b])), 2)
    case "Sequence":
    case "Empty": {
      // The options of a command are a list per option: one list, no blank lines.
      const all = blocks(doc)
      return all.length > 0 && all.every((b) => b._tag === "DescriptionList")
        ? Doc.concatWith(all.map(render), (a, b) => Doc.hcat([a, Doc.hardLine, b]))
        : separated(all.map(render))
    }
  }
}

/** A usage's parts (the program, each option, each argument), each kept whole on one line. */
const parts = (usage: Usage.Usage): ReadonlyArray<Usage.Usage> =>
  usage._tag === "Concat" ? [...parts(usage.left), ...parts(usage.right)] : usage._tag === "Empty" ? [] : [usage]

const partText = (usage: Usage.Usage) => Usage.enumerate(usage, CliConfig.defaultConfig).map(spanText).join(" | ")

/**
 * `$ program [global flags] command [its flags] <ARGS>`, and `<command>` when the last has subcommands
 * (@effect/cli's usage of a command with subcommands says nothing of them).
 */
const usageLine = (path: ReadonlyArray<Node>) => {
  const shown = path.flatMap((n) => parts(CommandDescriptor.getUsage(n.descriptor)).map(partText))
  const more = path[path.length - 1]!.children.length > 0 ? ["<command>"] : []
  return Doc.hcat([Doc.text("$ "), Doc.hang(Doc.fillSep([...shown, ...more].map((text) => Doc.text(text))), 2)])
}

/** Every command under `n`, named from it (`tenants create`), with its description. */
const commands = (n: Node, prefix = ""): ReadonlyArray<readonly [string, string]> =>
  n.children.flatMap((c) => [[`${prefix}${c.name}`, description(c.descriptor)] as const, ...commands(c, `${prefix}${c.name} `)])

/** Words of `text` in lines of at most `maxWidth` columns (a longer word stands alone). */
const wrap = (text: string, maxWidth: number): ReadonlyArray<string> =>
  text.split(/\s+/).filter((w) => w !== "").reduce<Array<string>>((lines, word) => {
    const last = lines[lines.length - 1]
    if (last !== undefined && last.length + 1 + word.length <= maxWidth) lines[lines.length - 1] = `${last} ${word}`
    else lines.push(word)
    return lines
  }, [])

/**
 * The commands, their descriptions in a column wrapped here: the printer's own fill layout of a dozen
 * reflowed paragraphs side by side takes exponential time.
 */
const commandList = (n: Node) => {
  const rows = commands(n)
  const column = Math.max(...rows.map(([name]) => name.length)) + 2
  const lines = rows.flatMap(([name, text]) =>
    wrap(text, width - 2 - column).map((line, i) => `  ${(i === 0 ? name : "").padEnd(column)}${line}`)
  )
  return Doc.concatWith(lines.map((line) => Doc.text(line)), (a, b) => Doc.hcat([a, Doc.hardLine, b]))
}

/** Consecutive lists (one per option) as one list, printed without blank lines between its terms. */
const joinLists = (docs: ReadonlyArray<HelpDoc.HelpDoc>): ReadonlyArray<HelpDoc.HelpDoc> =>
  docs.reduce<Array<HelpDoc.HelpDoc>>((out, doc) => {
    const last = out[out.length - 1]
    if (doc._tag === "DescriptionList" && last?._tag === "DescriptionList") {
      const [first, ...rest] = [...last.definitions, ...doc.definitions].map(([term, body]): [Span.Span, HelpDoc.HelpDoc] => [term, body])
      out[out.length - 1] = HelpDoc.descriptionList([first!, ...rest])
    } else out.push(doc)
    return out
  }, [])

/** The help of the last command of `path` (from the program down), at most {@link width} columns wide. */
export const help = (program: { readonly name: string; readonly version: string }, path: ReadonlyArray<Node>): string => {
  const target = path[path.length - 1]!
  const sections = [
    Doc.hcat([bold(program.name), Doc.text(` ${program.version}`)]),
    bold("USAGE"),
    usageLine(path),
    ...joinLists(ownHelp(target.descriptor)).map(render),
    ...(target.children.length === 0 ? [] : [bold("COMMANDS"), commandList(target)])
  ]
  return AnsiDoc.render(separated(sections), { style: "pretty", options: { lineWidth: width } })
}
