import type * as Otlp from "../domain/OtlpModel.js"
import { OtlpDecodeError } from "./OtlpDecodeError.js"

/**
 * A decoder of `ExportTraceServiceRequest` in OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions: ids as
 * hex, enums as integers). Field names are accepted in lowerCamelCase and in the proto's snake_case; 64-bit integers
 * as strings or numbers, exact past 2^53 (such number literals are quoted before `JSON.parse` sees them); hex ids
 * in either case, written lowercase. Unknown fields are ignored, as the spec requires.
 */

const maxDepth = 32

type Json = Record<string, unknown>

const fail = (path: string, what: string): never => {
  throw new OtlpDecodeError({ message: `json: ${path}: ${what}` })
}

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

/** A field by its lowerCamelCase or snake_case name. */
const field = (o: Json, camel: string, snake: string): unknown => (o[camel] !== undefined ? o[camel] : o[snake])

const object = (u: unknown, path: string): Json => (isObject(u) ? u : u === undefined || u === null ? {} : fail(path, "must be an object"))
const array = (u: unknown, path: string): ReadonlyArray<unknown> => (Array.isArray(u) ? u : u === undefined || u === null ? [] : fail(path, "must be an array"))
const string = (u: unknown, path: string): string => (typeof u === "string" ? u : u === undefined || u === null ? "" : fail(path, "must be a string"))

const int64 = (u: unknown, path: string): bigint => {
  if (u === undefined || u === null) return 0n
  if (typeof u === "number" && Number.isInteger(u)) return BigInt(u)
  if (typeof u === "string" && /^-?\d{1,20}$/.test(u)) return BigInt(u)
  return fail(path, "must be an integer (a number or a decimal string)")
}

const uint32 = (u: unknown, path: string): number => {
  const n = int64(u, path)
  return n >= 0n && n <= 0xffffffffn ? Number(n) : fail(path, "must be a 32-bit unsigned integer")
}

const hexId = (u: unknown, path: string): string => {
  const s = string(u, path)
  return /^[0-9a-fA-F]*$/.test(s) && s.length % 2 === 0 ? s.toLowerCase() : fail(path, "must be hex")
}

const bytes = (u: unknown, path: string): Uint8Array => {
  const s = string(u, path)
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(s) ? new Uint8Array(Buffer.from(s, "base64")) : fail(path, "must be base64")
}

const double = (u: unknown, path: string): number => {
  if (typeof u === "number") return u
  if (u === "NaN") return Number.NaN
  if (u === "Infinity") return Number.POSITIVE_INFINITY
  if (u === "-Infinity") return Number.NEGATIVE_INFINITY
  if (typeof u === "string" && u.trim() !== "" && Number.isFinite(Number(u))) return Number(u)
  return fail(path, "must be a number")
}

const anyValue = (u: unknown, path: string, depth: number): Otlp.AnyValue => {
  if (depth > maxDepth) fail(path, `values nested deeper than ${maxDepth}`)
  const o = object(u, path)
  if (o.stringValue !== undefined || o.string_value !== undefined) return string(field(o, "stringValue", "string_value"), `${path}.stringValue`)
  if (o.boolValue !== undefined || o.bool_value !== undefined) {
    const b = field(o, "boolValue", "bool_value")
    return typeof b === "boolean" ? b : fail(`${path}.boolValue`, "must be a boolean")
  }
  if (o.intValue !== undefined || o.int_value !== undefined) return int64(field(o, "intValue", "int_value"), `${path}.intValue`)
  if (o.doubleValue !== undefined || o.double_value !== undefined) return double(field(o, "doubleValue", "double_value"), `${path}.doubleValue`)
  if (o.bytesValue !== undefined || o.bytes_value !== undefined) return bytes(field(o, "bytesValue", "bytes_value"), `${path}.bytesValue`)
  const arr = field(o, "arrayValue", "array_value")
  if (arr !== undefined) {
    return { array: array(object(arr, `${path}.arrayValue`).values, `${path}.arrayValue.values`).map((v, i) => anyValue(v, `${path}.arrayValue.values[${i}]`, depth + 1)) }
  }
  const kv = field(o, "kvlistValue", "kvlist_value")
  if (kv !== undefined) return { kvlist: keyValues(object(kv, `${path}.kvlistValue`).values, `${path}.kvlistValue.values`, depth + 1) }
  return null
}

const keyValues = (u: unknown, path: string, depth = 0): Array<Otlp.KeyValue> =>
  array(u, path).map((kv, i) => {
    const o = object(kv, `${path}[${i}]`)
    return { key: string(o.key, `${path}[${i}].key`), value: anyValue(o.value, `${path}[${i}].value`, depth) }
  })

const span = (u: unknown, path: string): Otlp.Span => {
  const o = object(u, path)
  const status = object(o.status, `${path}.status`)
  return {
    traceId: hexId(field(o, "traceId", "trace_id"), `${path}.traceId`),
    spanId: hexId(field(o, "spanId", "span_id"), `${path}.spanId`),
    parentSpanId: hexId(field(o, "parentSpanId", "parent_span_id"), `${path}.parentSpanId`),
    name: string(o.name, `${path}.name`),
    kind: uint32(o.kind, `${path}.kind`),
    startTimeUnixNano: int64(field(o, "startTimeUnixNano", "start_time_unix_nano"), `${path}.startTimeUnixNano`),
    endTimeUnixNano: int64(field(o, "endTimeUnixNano", "end_time_unix_nano"), `${path}.endTimeUnixNano`),
    attributes: keyValues(o.attributes, `${path}.attributes`),
    droppedAttributesCount: uint32(field(o, "droppedAttributesCount", "dropped_attributes_count"), `${path}.droppedAttributesCount`),
    events: array(o.events, `${path}.events`).map((e, i) => {
      const eo = object(e, `${path}.events[${i}]`)
      return {
        timeUnixNano: int64(field(eo, "timeUnixNano", "time_unix_nano"), `${path}.events[${i}].timeUnixNano`),
        name: string(eo.name, `${path}.events[${i}].name`),
        attributes: keyValues(eo.attributes, `${path}.events[${i}].attributes`)
      }
    }),
    status: { code: uint32(status.code, `${path}.status.code`), message: string(status.message, `${path}.status.message`) }
  }
}

/** The request from parsed JSON; throws {@link OtlpDecodeError}. */
export const fromJson = (u: unknown): Otlp.ExportRequest => {
  const root = isObject(u) ? u : fail("$", "must be an object")
  return {
    resourceSpans: array(field(root, "resourceSpans", "resource_spans"), "resourceSpans").map((r, i) => {
      const ro = object(r, `resourceSpans[${i}]`)
      const resource = object(ro.resource, `resourceSpans[${i}].resource`)
      return {
        resource: { attributes: keyValues(resource.attributes, `resourceSpans[${i}].resource.attributes`) },
        scopeSpans: array(field(ro, "scopeSpans", "scope_spans"), `resourceSpans[${i}].scopeSpans`).map((s, j) => {
          const path = `resourceSpans[${i}].scopeSpans[${j}]`
          const so = object(s, path)
          const scope = object(so.scope, `${path}.scope`)
          return {
            scope: { name: string(scope.name, `${path}.scope.name`), version: string(scope.version, `${path}.scope.version`) },
            spans: array(so.spans, `${path}.spans`).map((sp, k) => span(sp, `${path}.spans[${k}]`))
          }
        })
      }
    })
  }
}

/**
 * Quotes every integer literal of 16 or more digits outside strings, so `JSON.parse` keeps it exact as text
 * (Node 20 has no source-text access in revivers). The walk runs only when such a digit run exists at all.
 */
export const quoteLongIntegers = (text: string): string => {
  if (!/\d{16}/.test(text)) return text
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
    return fail("$", `not JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  return fromJson(parsed)
}
