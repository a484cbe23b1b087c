import { isUtf8 } from "node:buffer"
import type * as Otlp from "../../domain/OtlpModel.js"
import { OtlpDecodeError } from "./OtlpDecodeError.js"

/**
 * A decoder of `ExportTraceServiceRequest` (opentelemetry-proto, trace/v1) from protobuf bytes, written by hand:
 * it reads only the fields the mapping uses, skips every other field by its wire type (as protobuf requires of
 * unknown fields), and refuses truncated or malformed input with a message, never a throw of its own. A generated
 * decoder (protobufjs and the .proto files) would be a dependency and a build step for these ~25 fields.
 */

const maxDepth = 32

class Reader {
  pos: number
  constructor(readonly buf: Buffer, start: number, readonly end: number) {
    this.pos = start
  }

  fail(what: string): never {
    throw new OtlpDecodeError({ message: `protobuf: ${what} at byte ${this.pos}` })
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  /** A varint of up to 64 bits, as a bigint. */
  varint64(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint")
      const b = this.buf[this.pos++]!
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result)
      shift += 7n
    }
    return this.fail("varint longer than 10 bytes")
  }

  /** A varint that fits 32 bits (tags, lengths, enums, counts); larger ones are read and cut to 32 bits. */
  varint32(): number {
    let result = 0
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint")
      const b = this.buf[this.pos++]!
      if (i < 5) result += (b & 0x7f) * 2 ** (7 * i)
      if ((b & 0x80) === 0) return result % 2 ** 32
    }
    return this.fail("varint longer than 10 bytes")
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) this.fail("truncated fixed64")
    const v = this.buf.readBigUInt64LE(this.pos)
    this.pos += 8
    return v
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail("truncated double")
    const v = this.buf.readDoubleLE(this.pos)
    this.pos += 8
    return v
  }

  /** A length-delimited field's bounds; the reader moves past it. */
  sub(): Reader {
    const length = this.varint32()
    if (this.pos + length > this.end) this.fail("length past the end of the message")
    const r = new Reader(this.buf, this.pos, this.pos + length)
    this.pos += length
    return r
  }

  /** A length-delimited field's bounds, the reader moved past it. */
  private span(): { readonly start: number; readonly end: number } {
    const length = this.varint32()
    if (this.pos + length > this.end) this.fail("length past the end of the message")
    const start = this.pos
    this.pos += length
    return { start, end: this.pos }
  }

  bytes(): Uint8Array {
    const { end, start } = this.span()
    return this.buf.subarray(start, end)
  }

  /** Lowercase hex of a bytes field (an id). */
  hex(): string {
    const { end, start } = this.span()
    return this.buf.toString("hex", start, end)
  }

  /**
   * A string field, which protobuf requires to be UTF-8: one that is not is refused, never stored with U+FFFD in place
   * of its bytes (the decoder writes U+FFFD for them, so only a string holding one is looked at again). A leading
   * U+FEFF is kept: it is part of the string.
   */
  string(): string {
    const { end, start } = this.span()
    const s = this.buf.toString("utf8", start, end)
    if (s.includes("\uFFFD") && !isUtf8(this.buf.subarray(start, end))) {
      this.pos = start
      this.fail("string is not UTF-8")
    }
    return s
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint64()
        return
      case 1:
        if (this.pos + 8 > this.end) this.fail("truncated fixed64")
        this.pos += 8
        return
      case 2:
        this.sub()
        return
      case 5:
        if (this.pos + 4 > this.end) this.fail("truncated fixed32")
        this.pos += 4
        return
      default:
        this.fail(`unsupported wire type ${wireType}`)
    }
  }

  /** Calls `field` for each field of the message; it returns false for a field it does not read (skipped). */
  fields(field: (number: number, wireType: number) => boolean): void {
    while (!this.done) {
      const tag = this.varint32()
      const number = tag >>> 3
      const wireType = tag & 7
      if (number === 0) this.fail("field number 0")
      if (!field(number, wireType)) this.skip(wireType)
    }
  }
}

const expect = (r: Reader, wireType: number, want: number, name: string): void => {
  if (wireType !== want) r.fail(`${name} has wire type ${wireType}, expected ${want}`)
}

const anyValue = (r: Reader, depth: number): Otlp.AnyValue => {
  if (depth > maxDepth) r.fail(`values nested deeper than ${maxDepth}`)
  let value: Otlp.AnyValue = null
  r.fields((n, w) => {
    switch (n) {
      case 1:
        expect(r, w, 2, "string_value")
        value = r.string()
        return true
      case 2:
        expect(r, w, 0, "bool_value")
        value = r.varint64() !== 0n
        return true
      case 3:
        expect(r, w, 0, "int_value")
        value = BigInt.asIntN(64, r.varint64())
        return true
      case 4:
        expect(r, w, 1, "double_value")
        value = r.double()
        return true
      case 5: {
        expect(r, w, 2, "array_value")
        const sub = r.sub()
        const values: Array<Otlp.AnyValue> = []
        sub.fields((m, mw) => {
          if (m !== 1) return false
          expect(sub, mw, 2, "values")
          values.push(anyValue(sub.sub(), depth + 1))
          return true
        })
        value = { array: values }
        return true
      }
      case 6: {
        expect(r, w, 2, "kvlist_value")
        const sub = r.sub()
        const values: Array<Otlp.KeyValue> = []
        sub.fields((m, mw) => {
          if (m !== 1) return false
          expect(sub, mw, 2, "values")
          values.push(keyValue(sub.sub(), depth + 1))
          return true
        })
        value = { kvlist: values }
        return true
      }
      case 7:
        expect(r, w, 2, "bytes_value")
        // A copy (a Buffer view would keep the whole request alive).
        value = new Uint8Array(r.bytes())
        return true
      default:
        return false
    }
  })
  return value
}

const keyValue = (r: Reader, depth: number): Otlp.KeyValue => {
  let key = ""
  let value: Otlp.AnyValue = null
  r.fields((n, w) => {
    if (n === 1) {
      expect(r, w, 2, "key")
      key = r.string()
      return true
    }
    if (n === 2) {
      expect(r, w, 2, "value")
      value = anyValue(r.sub(), depth)
      return true
    }
    return false
  })
  return { key, value }
}

/** Reads repeated KeyValue field `number` into `into`; true when it was that field. */
const attribute = (r: Reader, n: number, w: number, number: number, into: Array<Otlp.KeyValue>): boolean => {
  if (n !== number) return false
  expect(r, w, 2, "attributes")
  into.push(keyValue(r.sub(), 0))
  return true
}

const event = (r: Reader): Otlp.Event => {
  let timeUnixNano = 0n
  let name = ""
  const attributes: Array<Otlp.KeyValue> = []
  r.fields((n, w) => {
    if (n === 1) {
      expect(r, w, 1, "time_unix_nano")
      timeUnixNano = r.fixed64()
      return true
    }
    if (n === 2) {
      expect(r, w, 2, "name")
      name = r.string()
      return true
    }
    return attribute(r, n, w, 3, attributes)
  })
  return { timeUnixNano, name, attributes }
}

const status = (r: Reader): Otlp.Status => {
  let code = 0
  let message = ""
  r.fields((n, w) => {
    if (n === 2) {
      expect(r, w, 2, "status.message")
      message = r.string()
      return true
    }
    if (n === 3) {
      expect(r, w, 0, "status.code")
      code = r.varint32()
      return true
    }
    return false
  })
  return { code, message }
}

const span = (r: Reader): Otlp.Span => {
  const s = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: [] as Array<Otlp.KeyValue>,
    droppedAttributesCount: 0,
    events: [] as Array<Otlp.Event>,
    status: { code: 0, message: "" } as Otlp.Status
  }
  r.fields((n, w) => {
    switch (n) {
      case 1:
        expect(r, w, 2, "trace_id")
        s.traceId = r.hex()
        return true
      case 2:
        expect(r, w, 2, "span_id")
        s.spanId = r.hex()
        return true
      case 4:
        expect(r, w, 2, "parent_span_id")
        s.parentSpanId = r.hex()
        return true
      case 5:
        expect(r, w, 2, "name")
        s.name = r.string()
        return true
      case 6:
        expect(r, w, 0, "kind")
        s.kind = r.varint32()
        return true
      case 7:
        expect(r, w, 1, "start_time_unix_nano")
        s.startTimeUnixNano = r.fixed64()
        return true
      case 8:
        expect(r, w, 1, "end_time_unix_nano")
        s.endTimeUnixNano = r.fixed64()
        return true
      case 9:
        return attribute(r, n, w, 9, s.attributes)
      case 10:
        expect(r, w, 0, "dropped_attributes_count")
        s.droppedAttributesCount = r.varint32()
        return true
      case 11:
        expect(r, w, 2, "events")
        s.events.push(event(r.sub()))
        return true
      case 15:
        expect(r, w, 2, "status")
        s.status = status(r.sub())
        return true
      default:
        return false
    }
  })
  return s
}

const scopeSpans = (r: Reader): Otlp.ScopeSpans => {
  const scope = { name: "", version: "" }
  const spans: Array<Otlp.Span> = []
  r.fields((n, w) => {
    if (n === 1) {
      expect(r, w, 2, "scope")
      const sub = r.sub()
      sub.fields((m, mw) => {
        if (m === 1 || m === 2) {
          expect(sub, mw, 2, m === 1 ? "scope.name" : "scope.version")
          scope[m === 1 ? "name" : "version"] = sub.string()
          return true
        }
        return false
      })
      return true
    }
    if (n === 2) {
      expect(r, w, 2, "spans")
      spans.push(span(r.sub()))
      return true
    }
    return false
  })
  return { scope, spans }
}

const resourceSpans = (r: Reader): Otlp.ResourceSpans => {
  const attributes: Array<Otlp.KeyValue> = []
  const scopes: Array<Otlp.ScopeSpans> = []
  r.fields((n, w) => {
    if (n === 1) {
      expect(r, w, 2, "resource")
      const sub = r.sub()
      sub.fields((m, mw) => attribute(sub, m, mw, 1, attributes))
      return true
    }
    if (n === 2) {
      expect(r, w, 2, "scope_spans")
      scopes.push(scopeSpans(r.sub()))
      return true
    }
    return false
  })
  return { resource: { attributes }, scopeSpans: scopes }
}

/** Decodes an ExportTraceServiceRequest; throws {@link OtlpDecodeError} on malformed input. */
export const decodeUnsafe = (bytes: Uint8Array): Otlp.ExportRequest => {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.byteLength)
  const resources: Array<Otlp.ResourceSpans> = []
  r.fields((n, w) => {
    if (n !== 1) return false
    expect(r, w, 2, "resource_spans")
    resources.push(resourceSpans(r.sub()))
    return true
  })
  return { resourceSpans: resources }
}
