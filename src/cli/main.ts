#!/usr/bin/env node
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import { createRequire } from "node:module"
import { purge, query, stats, tenants } from "./Commands.js"
import { health } from "./Health.js"
import * as Demo from "./Demo.js"
import * as Help from "./Help.js"
import { ingest, migrate, replayDeadLetters } from "./Operations.js"
import { describeCause, exitCode } from "./Errors.js"
import { serve } from "./Serve.js"
import * as Stdin from "./Stdin.js"
import { root } from "./Storage.js"

Stdin.detachUnlessRead(process.argv.slice(2))

// A reader that stops early (`| head`) closes the pipe: that ends the command quietly, not with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

// src/cli and dist/cli both sit two levels below package.json: the version printed is the one installed.
const { version } = createRequire(import.meta.url)("../../package.json") as { readonly version: string }

// The signal that stopped the command decides its exit code (130 for SIGINT, 143 for SIGTERM); the
// runtime interrupts the command on either, which runs its finalizers (ingest flushes and reports).
let signal: NodeJS.Signals | undefined
const color = process.stderr.isTTY === true && (process.env.NO_COLOR ?? "") === ""
for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => (signal ??= s))

// @effect/cli renders help with ANSI styles; without colour they are taken out of everything printed.
// eslint-disable-next-line no-control-regex -- the escape character starts every ANSI sequence
const ansi = /\u001b\[[0-9;]*m/g
const strip = (value: unknown) => (typeof value === "string" ? value.replace(ansi, "") : value)
const plain = (console: Console.Console): Console.Console => ({
  ...console,
  log: (...args) => console.log(...args.map(strip)),
  error: (...args) => console.error(...args.map(strip)),
  unsafe: { ...console.unsafe, log: (...args) => console.unsafe.log(...args.map(strip)), error: (...args) => console.unsafe.error(...args.map(strip)) }
})

const name = "llmtrace-storage"
const commands = [Demo.command, migrate, health, ingest, stats, query, purge, replayDeadLetters, tenants, serve] as const
const app = root.pipe(
  Command.withDescription("Operate llmtrace-storage: run the demo, migrate, check health, ingest, query and purge traces, manage tenants."),
  Command.withSubcommands(commands)
)
const cli = Command.run(app, { name, version })
const tree = Help.node(app.descriptor, commands.map((command) => Help.node(command.descriptor)))

/** Arguments @effect/cli refused: printed as `error: …` and the command's usage, exit code 1. */
class UsageError extends Data.TaggedError("UsageError")<{ readonly text: string }> {}

// `--help` and usage errors are printed by Help (100 columns, the full usage); everything else goes to @effect/cli.
type Run = ReturnType<typeof cli>

Effect.flatMap(Help.request(tree, process.argv.slice(2)), (request): Effect.Effect<void, UsageError | Effect.Effect.Error<Run>, Effect.Effect.Context<Run>> =>
  request._tag === "Help"
    ? Console.log(Help.help({ name, version }, request.path))
    : request._tag === "UsageError"
    ? Effect.fail(new UsageError({ text: Help.usageError({ name }, request.path, request.message) }))
    : cli(process.argv)).pipe(
  // An expected failure is one line on stderr and exit code 1; the CLI has already explained a usage error.
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    const line = Option.match(failure, {
      onNone: () => `error: ${describeCause(cause)}`,
      onSome: (e) => (e instanceof UsageError ? e.text : ValidationError.isValidationError(e) ? undefined : `error: ${describeCause(cause)}`)
    })
    return Effect.zipRight(line === undefined ? Effect.void : Console.error(line), Effect.failCause(cause))
  }),
  (program) => (color ? program : Console.consoleWith((console) => Console.withConsole(program, plain(console)))),
  Effect.provide(NodeContext.layer),
  // Log lines (a warning of the writer, say) go to standard error, in colour only on a terminal without NO_COLOR.
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true, colors: color, mode: "tty" }))),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown: (exit, onExit) => onExit(exitCode(exit, signal)) })
)
