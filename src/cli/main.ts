#!/usr/bin/env node
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createRequire } from "node:module"
import { health, purge, query, stats, tenants } from "./Commands.js"
import * as Demo from "./Demo.js"
import { ingest, migrate, replayDeadLetters } from "./Operations.js"
import { describeCause } from "./Errors.js"
import { root } from "./Storage.js"

// A reader that stops early (`| head`) closes the pipe: that ends the command quietly, not with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

// src/cli and dist/cli both sit two levels below package.json: the version printed is the one installed.
const { version } = createRequire(import.meta.url)("../../package.json") as { readonly version: string }

const cli = Command.run(
  root.pipe(
    Command.withDescription("Operate llmtrace-storage: run the demo, migrate, check health, ingest, query and purge traces, manage tenants."),
    Command.withSubcommands([Demo.command, migrate, health, ingest, stats, query, purge, replayDeadLetters, tenants])
  ),
  { name: "llmtrace-storage", version }
)

cli(process.argv).pipe(
  // An expected failure is one line on stderr and exit code 1; the CLI has already explained a usage error.
  Effect.catchAllCause((cause) => {
    const usage = Option.filter(Cause.failureOption(cause), ValidationError.isValidationError)
    return Effect.zipRight(Option.isSome(usage) ? Effect.void : Console.error(`error: ${describeCause(cause)}`), Effect.failCause(cause))
  }),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
