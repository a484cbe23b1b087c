import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"

/** `ingest` finished, but some lines were bad or refused: a distinct exit code from a failure to start. */
export class BadLines extends Data.TaggedError("BadLines")<{ readonly message: string }> {
  static readonly exitCode = 2
}

/**
 * The process's exit code: 0 done; 1 failed (could not start, storage failed, bad arguments);
 * 2 `ingest` finished with bad lines; 128 + the signal's number when a signal stopped it.
 */
export const exitCode = (exit: Exit.Exit<unknown, unknown>, signal: NodeJS.Signals | undefined): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return signal === "SIGTERM" ? 143 : 130
  return Option.match(Cause.failureOption(exit.cause), {
    onSome: (e) => (Predicate.isTagged(e, "BadLines") ? BadLines.exitCode : 1),
    onNone: () => 1
  })
}

type Leaf = { readonly path: ReadonlyArray<string>; readonly message: string; readonly missing: boolean }

const leaves = (error: ConfigError.ConfigError): ReadonlyArray<Leaf> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...leaves(error.left), ...leaves(error.right)]
    case "MissingData":
      return [{ path: error.path, message: error.message, missing: true }]
    default:
      return [{ path: error.path, message: error.message, missing: false }]
  }
}

/**
 * A configuration error as the variable and the reason: a value that was given but is wrong hides
 * the "missing" alternatives that a default or a fallback source adds beside it.
 */
const describeConfig = (error: ConfigError.ConfigError): string => {
  const all = leaves(error)
  const invalid = all.filter((l) => !l.missing)
  const shown = (invalid.length > 0 ? invalid : all).map((l) => {
    const reason = l.missing ? "is not set" : l.message.replace(/\s+/g, " ")
    return l.path.length > 0 ? `${l.path.join("_")}: ${reason}` : reason
  })
  return `configuration: ${[...new Set(shown)].join("; ")}`
}

/** One readable line for an expected failure: no stack trace, never a password (errors never carry one). */
const describe = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return describeConfig(error)
  if ((Predicate.isTagged(error, "CommandFailed") || Predicate.isTagged(error, "BadLines")) && Predicate.hasProperty(error, "message")) {
    return String(error.message)
  }
  if (Predicate.hasProperty(error, "_tag") && Predicate.hasProperty(error, "message")) {
    const where = Predicate.hasProperty(error, "backend") ? ` [${String(error.backend)}]` : ""
    const path = Predicate.hasProperty(error, "path") && Array.isArray(error.path) && error.path.length > 0 ? ` at ${error.path.join(".")}` : ""
    return `${String(error._tag)}${where}${path}: ${String(error.message)}`
  }
  return error instanceof Error ? error.message : String(error)
}

/** The line for a whole failure: its first expected error, else the defect's message. */
export const describeCause = (cause: Cause.Cause<unknown>): string =>
  Option.match(Cause.failureOption(cause), {
    onSome: describe,
    onNone: () => Option.match(Cause.dieOption(cause), { onSome: (d) => `unexpected: ${describe(d)}`, onNone: () => "interrupted" })
  })
