import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"

/** One readable line for an expected failure: no stack trace, never a password (errors never carry one). */
export const describe = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return `configuration: ${String(error).replace(/\s+/g, " ")}`
  if (Predicate.isTagged(error, "CommandFailed") && Predicate.hasProperty(error, "message")) return String(error.message)
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
