import type * as Otlp from "../../domain/OtlpModel.js"
import { OtlpDecodeError } from "./OtlpDecodeError.js"

/**
 * A decoder of `ExportTraceServiceRequest` in OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions: ids as
 * hex, enums as integers). Field names are accepted in lowerCamelCase and in the proto's snake_case; 64-bit integers
 * as strings or numbers, exact past 2^53 (such number literals are quoted before `JSON.parse` sees them); hex ids
 * in either case, written lowercase. Unknown fields are ignored, as the spec requires.
 */

const maxDepth = 32

type Json = Record<string, unknown>

/**
 * Where the decoder is, as a stack of field names and indexes: pushed and popped as it descends, turned into text
 * (`resourceSpans[0].scopeSpans[0].spans[3].traceId`) only when something fails, so a valid body builds no path.
 */
class Path {
  private readonly parts: Array<string | number> = []

  /** `f` with `part` (a field name or an index) added to the path while it runs. */
  within<A>(part: string | number, f: () => A): A {
    this.parts.push(part)
    const a = f()
    this.parts.pop()
    return a
  }

  fail(what: string, part?: string): never {
    const parts = part === undefined ? this.parts : [...this.parts, part]
    const text = parts.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("")
    throw new OtlpDecodeError({ message: `json: ${text.length === 0 ? "$" : text}: ${what}` })
  }
}

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A field by its lowerCamelCase or snake_case name. */
const field = (o: Json, camel: string, snake: string): unknown => (o[camel] !== undefined ? o[camel] : o[snake])

// Each reader takes the value and the path of its container, and the name of its field (undefined: the container itself).
const object = (u: unknown, at: Path, name?: string): Json => (isObject(u) ? u : u === undefined || u === null ? {} : at.fail("must be an object", name))
const array = (u: unknown, at: Path, name?: string): ReadonlyArray<unknown> => (Array.isArray(u) ? u : u === undefined || u === null ? [] : at.fail("must be an array", name))
const string = (u: unknown, at: Path, name?: string): string => (typeof u === "string" ? u : u === undefined || u === null ? "" : at.fail("must be a string", name))

const decimal = /^-?\d{1,20}$/

const int64 = (u: unknown, at: Path, name: string): bigint => {
  if (u === undefined || u === null) return 0n
  if (typeof u === "number" && Number.isInteger(u)) return BigInt(u)
  if (typeof u === "string" && decimal.test(u)) return BigInt(u)
  return at.fail("must be an integer (a number or a decimal string)", name)
}

const uint32 = (u: unknown, at: Path, name: string): number => {
  // The common case, a small non-negative number, without a bigint.
  if (typeof u === "number" && Number.isInteger(u) && u >= 0 && u <= 0xffffffff) return u === 0 ? 0 : u
  const n = int64(u, at, name)
  return n >= 0n && n <= 0xffffffffn ? Number(n) : at.fail("must be a 32-bit unsigned integer", name)
}

const hex = /^(?:[0-9a-f]{2})*$/
const anyCaseHex = /^(?:[0-9a-fA-F]{2})*$/

const hexId = (u: unknown, at: Path, name: string): string => {
  const s = string(u, at, name)
  return hex.test(s) ? s : anyCaseHex.test(s) ? s.toLowerCase() : at.fail("must be hex", name)
}

const bytes = (u: unknown, at: Path, name: string): Uint8Array => {
  const s = string(u, at, name)
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(s) ? new Uint8Array(Buffer.from(s, "base64")) : at.fail("must be base64", name)
}

const double = (u: unknown, at: Path, name: string): number => {
  if (typeof u === "number") return u
  if (u === "NaN") return Number.NaN
  if (u === "Infinity") return Number.POSITIVE_INFINITY
  if (u === "-Infinity") return Number.NEGATIVE_INFINITY
  if (typeof u === "string" && u.trim() !== "" && Number.isFinite(Number(u))) return Number(u)
  return at.fail("must be a number", name)
}

const anyValue = (u: unknown, at: Path, depth: number): Otlp.AnyValue => {
  if (depth > maxDepth) at.fail(`values nested deeper than ${maxDepth}`)
  const o = object(u, at)
  // The usual value, a string, is looked for first and alone.
  if (typeof o.stringValue === "string") return o.stringValue
  if (o.stringValue !== undefined || o.string_value !== undefined) return string(field(o, "stringValue", "string_value"), at, "stringValue")
  if (o.boolValue !== undefined || o.bool_value !== undefined) {
    const b = field(o, "boolValue", "bool_value")
    return typeof b === "boolean" ? b : at.fail("must be a boolean", "boolValue")
  }
  if (o.intValue !== undefined || o.int_value !== undefined) return int64(field(o, "intValue", "int_value"), at, "intValue")
  if (o.doubleValue !== undefined || o.double_value !== undefined) return double(field(o, "doubleValue", "double_value"), at, "doubleValue")
  if (o.bytesValue !== undefined || o.bytes_value !== undefined) return bytes(field(o, "bytesValue", "bytes_value"), at, "bytesValue")
  const arr = field(o, "arrayValue", "array_value")
  if (arr !== undefined) {
    return at.within("arrayValue", () => {
      const values = object(arr, at).values
      return at.within("values", () => ({ array: array(values, at).map((v, i) => at.within(i, () => anyValue(v, at, depth + 1))) }))
    })
  }
  const kv = field(o, "kvlistValue", "kvlist_value")
  if (kv !== undefined) return at.within("kvlistValue", () => ({ kvlist: keyValues(object(kv, at).values, at, "values", depth + 1) }))
  return null
}

/** Attributes (field `name` of the container at `at`); values nested `depth` levels deep. */
const keyValues = (u: unknown, at: Path, name: string, depth = 0): Array<Otlp.KeyValue> => {
  const list = array(u, at, name)
  const out: Array<Otlp.KeyValue> = new Array(list.length)
  for (let i = 0; i < list.length; i++) {
    const kv = list[i]
    // The usual attribute, `{ key, value: { stringValue } }`, read as anyValue would, without a path.
    if (depth <= maxDepth && isObject(kv) && typeof kv.key === "string" && isObject(kv.value) && typeof kv.value.stringValue === "string") {
      out[i] = { key: kv.key, value: kv.value.stringValue }
      continue
    }
    out[i] = at.within(name, () =>
      at.within(i, () => {
        const o = object(kv, at)
        return { key: string(o.key, at, "key"), value: at.within("value", () => anyValue(o.value, at, depth)) }
      }))
  }
  return out
}

const event = (u: unknown, at: Path): Otlp.Event => {
  const o = object(u, at)
  return {
    timeUnixNano: int64(field(o, "timeUnixNano", "time_unix_nano"), at, "timeUnixNano"),
    name: string(o.name, at, "name"),
    attributes: keyValues(o.attributes, at, "attributes")
  }
}

const span = (u: unknown, at: Path): Otlp.Span => {
  const o = object(u, at)
  const status = object(o.status, at, "status")
  return {
    traceId: hexId(field(o, "traceId", "trace_id"), at, "traceId"),
    spanId: hexId(field(o, "spanId", "span_id"), at, "spanId"),
    parentSpanId: hexId(field(o, "parentSpanId", "parent_span_id"), at, "parentSpanId"),
    name: string(o.name, at, "name"),
    kind: uint32(o.kind, at, "kind"),
    startTimeUnixNano: int64(field(o, "startTimeUnixNano", "start_time_unix_nano"), at, "startTimeUnixNano"),
    endTimeUnixNano: int64(field(o, "endTimeUnixNano", "end_time_unix_nano"), at, "endTimeUnixNano"),
    attributes: keyValues(o.attributes, at, "attributes"),
    droppedAttributesCount: uint32(field(o, "droppedAttributesCount", "dropped_attributes_count"), at, "droppedAttributesCount"),
    events: at.within("events", () => array(o.events, at).map((e, i) => at.within(i, () => event(e, at)))),
    status: at.within("status", () => ({ code: uint32(status.code, at, "code"), message: string(status.message, at, "message") }))
  }
}

/** The request from parsed JSON; throws {@link OtlpDecodeError}. */
const fromJson = (u: unknown): Otlp.ExportRequest => {
  const at = new Path()
  const root = isObject(u) ? u : at.fail("must be an object")
  return {
    resourceSpans: at.within("resourceSpans", () =>
      array(field(root, "resourceSpans", "resource_spans"), at).map((r, i) =>
        at.within(i, () => {
          const ro = object(r, at)
          const resource = object(ro.resource, at, "resource")
          return {
            resource: { attributes: at.within("resource", () => keyValues(resource.attributes, at, "attributes")) },
            scopeSpans: at.within("scopeSpans", () =>
              array(field(ro, "scopeSpans", "scope_spans"), at).map((s, j) =>
                at.within(j, () => {
                  const so = object(s, at)
                  const scope = object(so.scope, at, "scope")
                  return {
                    scope: at.within("scope", () => ({ name: string(scope.name, at, "name"), version: string(scope.version, at, "version") })),
                    spans: at.within("spans", () => array(so.spans, at).map((sp, k) => at.within(k, () => span(sp, at))))
                  }
                })))
          }
        })))
  }
}

/**
 * A number literal of 16 or more digits can only follow `:`, `,` or `[` (and white space): without such a run the body
 * has none, whatever digits its strings hold (an exporter's 19-digit times are strings, as the OTLP/JSON mapping says).
 */
const longIntegerLiteral = /[:,[][ \t\n\r]*-?\d{16}/

/**
 * Quotes every integer literal of 16 or more digits outside strings, so `JSON.parse` keeps it exact as text
 * (Node 20 has no source-text access in revivers). The walk runs only when such a literal may exist at all.
 */
export const quoteLongIntegers = (text: string): string => {
  if (!longIntegerLiteral.test(text)) return text
  let out = ""
  let last = 0
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if (d === 92 /* \ */) i += 2
        else if (d === 34) break
        else i++
      }
      i++
      continue
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i
      i++
      while (i < n) {
        const d = text.charCodeAt(i)
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) i++
        else break
      }
      const token = text.slice(start, i)
      if (/^-?\d{16,}$/.test(token)) {
        out += `${text.slice(last, start)}"${token}"`
        last = i
      }
      continue
    }
    i++
  }
  return last === 0 ? text : out + text.slice(last)
}

/** Decodes an OTLP/JSON body; throws {@link OtlpDecodeError}. */
export const decodeUnsafe = (text: string): Otlp.ExportRequest => {
  let parsed: unknown
  try {
    parsed = JSON.parse(quoteLongIntegers(text))
  } catch (e) {
    return new Path().fail(`not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  return fromJson(parsed)
}
