import { describe, expect, it } from "@effect/vitest"
import * as JsonLines from "../../src/internal/clickhouse/JsonLines.js"

// What a JSONEachRow body must be, whatever the storage it was written into.
const expected = (rows: ReadonlyArray<object>) => rows.map((r) => `${JSON.stringify(r)}\n`).join("")

const hostile = ["plain", "é ü ß", "日本語テキスト", "😀 emoji pair", "line\nbreak \u2028 \u2029", "quote \" back\\slash", "\u0000\u001f", ""]
const rowsOf = (n: number, width = 1) =>
  Array.from({ length: n }, (_, i) => ({ i, text: hostile[i % hostile.length]!.repeat(width), tags: { k: hostile[(i + 3) % hostile.length]! } }))

describe("JsonLines", () => {
  it("writes each row as one JSON line, UTF-8, for every kind of text", () => {
    const rows = rowsOf(64)
    expect(JsonLines.make().encode(rows, (r) => r).toString("utf8")).toBe(expected(rows))
  })

  it("converts each item when it writes it, in order", () => {
    const seen: Array<number> = []
    const body = JsonLines.make().encode([3, 1, 2], (n) => (seen.push(n), { n }))
    expect(seen).toEqual([3, 1, 2])
    expect(body.toString("utf8")).toBe("{\"n\":3}\n{\"n\":1}\n{\"n\":2}\n")
  })

  it("grows past its estimate when later rows are far longer than the first", () => {
    const rows = [{ text: "a" }, ...rowsOf(200, 500).map((r) => ({ text: r.text }))]
    expect(JsonLines.make().encode(rows, (r) => r).toString("utf8")).toBe(expected(rows))
  })

  it("an empty list is an empty body", () => {
    expect(JsonLines.make().encode([], (r: object) => r).length).toBe(0)
  })

  it("writes the next body over a released one's storage, and never over a body not released", () => {
    const bodies = JsonLines.make()
    const first = bodies.encode(rowsOf(100), (r) => r)
    const held = bodies.encode(rowsOf(100), (r) => r)
    expect(held.buffer).not.toBe(first.buffer)
    bodies.release(first)
    const second = bodies.encode(rowsOf(50, 2), (r) => r)
    expect(second.buffer).toBe(first.buffer)
    expect(second.toString("utf8")).toBe(expected(rowsOf(50, 2)))
    expect(held.toString("utf8")).toBe(expected(rowsOf(100)))
  })

  it("a reused storage too small for the next body is replaced, and the body is whole", () => {
    const bodies = JsonLines.make()
    bodies.release(bodies.encode(rowsOf(2), (r) => r))
    const rows = rowsOf(300, 20)
    expect(bodies.encode(rows, (r) => r).toString("utf8")).toBe(expected(rows))
  })

  it("keeps at most `keep` settled bodies, none larger than `maxBytes`", () => {
    const bodies = JsonLines.make({ keep: 1, maxBytes: 1024 })
    const large = bodies.encode(rowsOf(100, 10), (r) => r)
    expect(large.buffer.byteLength).toBeGreaterThan(1024)
    bodies.release(large)
    expect(bodies.encode(rowsOf(1), (r) => r).buffer).not.toBe(large.buffer)
    const a = bodies.encode(rowsOf(1), (r) => r)
    const b = bodies.encode(rowsOf(1), (r) => r)
    bodies.release(a)
    bodies.release(b)
    expect(bodies.encode(rowsOf(1), (r) => r).buffer).toBe(a.buffer)
    expect(bodies.encode(rowsOf(1), (r) => r).buffer).not.toBe(b.buffer)
  })

  it("a body given back twice serves one next body, not two", () => {
    const bodies = JsonLines.make()
    const body = bodies.encode(rowsOf(10), (r) => r)
    bodies.release(body)
    bodies.release(body)
    const a = bodies.encode(rowsOf(5), (r) => r)
    const b = bodies.encode(rowsOf(5), (r) => r)
    expect(a.buffer).toBe(body.buffer)
    expect(b.buffer).not.toBe(body.buffer)
  })

  describe("encodeRows (JSONCompactEachRow)", () => {
    interface Item { readonly text: string; readonly maybe?: string; readonly n?: number; readonly tags: Record<string, string> }
    const format: JsonLines.RowFormat<Item> = {
      columns: ["text", "maybe", "n", "tags"],
      values: (item) => [item.text, item.maybe ?? null, item.n ?? null, item.tags]
    }
    // What a compact row must be: the values as JSON, in column order.
    const compact = (items: ReadonlyArray<Item>) => items.map((i) => `${JSON.stringify([i.text, i.maybe ?? null, i.n ?? null, i.tags])}\n`).join("")
    const longs = ["x".repeat(5000), "é".repeat(5000), `${"a".repeat(5000)}"quoted"\nline`, `${"b".repeat(5000)}\ud800 lone`, `${"c".repeat(5000)}😀`, "日本語".repeat(2000)]
    const items = (n: number): Array<Item> =>
      Array.from({ length: n }, (_, i) => ({
        text: i % 5 === 4 ? longs[i % longs.length]! : hostile[i % hostile.length]!,
        ...(i % 3 === 0 ? {} : { maybe: hostile[(i + 1) % hostile.length]! }),
        ...(i % 2 === 0 ? { n: i * 1.5 - 7 } : {}),
        tags: i % 4 === 0 ? {} as Record<string, string> : { [hostile[i % hostile.length]!]: hostile[(i + 2) % hostile.length]!, k: "v" }
      }))

    it("writes each item as one JSON array line in column order, for every kind of text, short or long", () => {
      const list = items(120)
      expect(JsonLines.make().encodeRows(list, format).toString("utf8")).toBe(compact(list))
    })

    it("a lone surrogate is escaped as JSON writes it, never replaced by U+FFFD", () => {
      const list: Array<Item> = [{ text: "\udfff", tags: {} }, { text: `${"z".repeat(5000)}\ud83d`, tags: {} }]
      const body = JsonLines.make().encodeRows(list, format).toString("utf8")
      expect(body).toBe(compact(list))
      expect(body).not.toContain("\ufffd")
    })

    it("reuses a released storage, and grows past it for a row far longer than the rest", () => {
      const bodies = JsonLines.make()
      bodies.release(bodies.encodeRows(items(3), format))
      const list = [...items(10), { text: "y".repeat(3_000_000), tags: {} }, ...items(10)]
      expect(bodies.encodeRows(list, format).toString("utf8")).toBe(compact(list))
    })
  })
})
