import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { TraceSpan } from "../domain/Trace.js"
import { isTraceSpan } from "../domain/TraceSpanGuard.js"
import { hasProtoKey } from "../StorageError.js"

/**
 * Spans checked once, where they were built, and handed to the TraceWriter without a second check (the OTLP receiver
 * maps a request's spans, must report the refused ones one by one as partial success, and then writes the rest: the
 * writer checking them again cost a second guard a span).
 *
 * {@link check} is the only way to make such a batch: it refuses exactly what the writer's own check refuses (the
 * guard, then the TraceSpan schema after the `__proto__` key walk) and returns the accepted spans as a frozen array the
 * writer recognises by identity. Internal to the library, not exported: the spans in it are trusted not to change
 * afterwards, so only code that built them fresh and hands them straight to the writer may call it. Any other array,
 * however it was made, is checked by the writer as before.
 */

const checked = new WeakSet<object>()

const validate = Schema.validateEither(TraceSpan, { errors: "first", onExcessProperty: "ignore" })

/** The first problem of a refused span: `path: message`. */
const reason = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return issue === undefined ? "invalid" : `${issue.path.join(".")}: ${issue.message}`
}

export interface Refused {
  /** The index of the refused candidate. */
  readonly index: number
  readonly reason: string
}

export interface Checked {
  /** The accepted spans, in order: a batch the TraceWriter's `writeAll` takes without checking again. */
  readonly spans: ReadonlyArray<TraceSpan>
  readonly refused: ReadonlyArray<Refused>
}

/** Splits freshly built spans into those the TraceWriter accepts (as a checked batch) and the refused ones, with why. */
export const check = (candidates: ReadonlyArray<unknown>): Checked => {
  const spans: Array<TraceSpan> = []
  const refused: Array<Refused> = []
  for (let index = 0; index < candidates.length; index++) {
    const candidate = candidates[index]
    if (isTraceSpan(candidate)) {
      spans.push(candidate)
      continue
    }
    // The guard may refuse what the schema accepts: the schema decides, as in the writer.
    if (hasProtoKey(candidate)) {
      refused.push({ index, reason: "__proto__ cannot be a key" })
      continue
    }
    const result = validate(candidate)
    if (result._tag === "Right") spans.push(result.right)
    else refused.push({ index, reason: reason(result.left) })
  }
  checked.add(Object.freeze(spans))
  return { spans, refused }
}

/**
 * A batch of spans each of which passed the same rules where it was built fresh, one at a time: the guard, or the
 * TraceSpan schema that decoded it (the CLI's lines, decoded by `TraceSpanJson` or the schema). Like {@link check}, for
 * code that hands them straight to the writer.
 */
export const sealed = (spans: Array<TraceSpan>): ReadonlyArray<TraceSpan> => {
  checked.add(Object.freeze(spans))
  return spans
}

/** Whether `spans` is a batch {@link check} or {@link sealed} made. */
export const isChecked = (spans: unknown): boolean => typeof spans === "object" && spans !== null && checked.has(spans)
