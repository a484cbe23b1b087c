/**
 * JSON insert bodies (one row a line, UTF-8), written straight into a Buffer: `JSONEachRow` from
 * row objects (`encode`), or `JSONCompactEachRow` written value by value by a table's own
 * {@link RowFormat} (`encodeRows`), the hot path.
 *
 * Why not an array of row objects joined into a string: an insert body held as a V8 string (two
 * bytes a character as soon as one character is outside Latin-1) was copied again when the chDB
 * connection prefixed the statement to it, and again when the engine read it, and each copy lived
 * in the old generation until a full collection. Here the body is bytes outside the V8 heap, which
 * the embedded engine reads in place.
 *
 * Why a row with a long value is written value by value: `JSON.stringify` of a row copies every
 * value into one line string first. For a 1 MB prompt that line is another megabyte in V8's
 * large-object space, freed only by a full collection. A long value with nothing to escape is
 * written from the caller's string straight into the body instead. Rows of short values are one
 * `JSON.stringify` of the value array each (native, one write a row). Compact rows carry no column
 * names (a quarter fewer bytes for spans; BENCHMARKS, "Insert format").
 *
 * Why bodies are reused: a body of thousands of rows is megabytes, freed only when V8 collects
 * its Buffer object; ingest makes one per batch, so hundreds of megabytes of settled bodies were
 * resident at a time. The storage of a settled body is kept for the next one instead.
 */

/** A value of a compact row: JSON text of a column's value (`null` for an absent one). */
export type RowValue = string | number | null | Readonly<Record<string, string>>

/** How a table's rows are written: its columns, in order, and the values of one item in that order. */
export interface RowFormat<A> {
  readonly columns: ReadonlyArray<string>
  readonly values: (item: A, index: number) => ReadonlyArray<RowValue>
}

export interface Bodies {
  /** The `JSONEachRow` body of `items`, each converted by `toRow` when it is written (a row is never held longer). */
  readonly encode: <A>(items: ReadonlyArray<A>, toRow: (item: A, index: number) => object) => Buffer
  /** The `JSONCompactEachRow` body of `items`, one line each in `format`'s column order. */
  readonly encodeRows: <A>(items: ReadonlyArray<A>, format: RowFormat<A>) => Buffer
  /**
   * Gives back the storage of a body from `encode` that nothing reads any more (the engine is done
   * with it): the next `encode` writes over it. A body still being read must never be given back.
   */
  readonly release: (body: Buffer) => void
}

export interface Options {
  /** Settled bodies kept for reuse (default 4: the writer's two batches being stored, one being encoded, one spare). */
  readonly keep?: number
  /** A larger body's storage is not kept (default 64 MiB). */
  readonly maxBytes?: number
}

/** A value from this length on is written by itself, not joined into the row's string first. */
const longValue = 4096
/** What JSON must escape in a string, and lone surrogates (which UTF-8 cannot carry; JSON writes them as `\uXXXX`). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/

/** One body being written: its storage, how far it is written, and the current row's joined short values. */
class Cursor {
  at = 0
  pending = ""
  constructor(public body: Buffer, readonly done: () => number, readonly total: number) {}

  /** Reserves room for `units` more UTF-16 units (at most 3 UTF-8 bytes each; a surrogate pair, 2 units, takes 4). */
  reserve(units: number): void {
    const needed = units * 3
    if (this.at + needed > this.body.length) this.body = grow(this.body, this.at, needed, this.done(), this.total)
  }

  /** Writes the row's joined short values. */
  flush(): void {
    if (this.pending.length === 0) return
    this.reserve(this.pending.length)
    this.at += this.body.write(this.pending, this.at, "utf8")
    this.pending = ""
  }

  /** A long string value, from the caller's string into the body when it needs no escaping. */
  long(value: string): void {
    this.flush()
    if (needsEscape.test(value)) {
      this.pending = JSON.stringify(value)
      return this.flush()
    }
    this.reserve(value.length + 2)
    this.body[this.at++] = 34
    this.at += this.body.write(value, this.at, "utf8")
    this.body[this.at++] = 34
  }
}

const isLong = (value: RowValue): value is string => typeof value === "string" && value.length >= longValue

export const make = (options: Options = {}): Bodies => {
  const keep = options.keep ?? 4
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  const spare: Array<Buffer> = []
  // Storage is allocated unpooled (`allocUnsafeSlow`): a body owns its whole ArrayBuffer, so giving it back shares nothing.
  const storage = () => spare.pop() ?? Buffer.allocUnsafeSlow(0)

  const encode = <A>(items: ReadonlyArray<A>, toRow: (item: A, index: number) => object): Buffer => {
    let i = 0
    const cursor = new Cursor(storage(), () => i, items.length)
    for (; i < items.length; i++) {
      cursor.pending = `${JSON.stringify(toRow(items[i]!, i))}\n`
      cursor.flush()
    }
    return cursor.body.subarray(0, cursor.at)
  }

  const encodeRows = <A>(items: ReadonlyArray<A>, format: RowFormat<A>): Buffer => {
    let i = 0
    const cursor = new Cursor(storage(), () => i, items.length)
    for (; i < items.length; i++) {
      const values = format.values(items[i]!, i)
      if (!values.some(isLong)) {
        cursor.pending = `${JSON.stringify(values)}\n`
        cursor.flush()
        continue
      }
      for (let k = 0; k < values.length; k++) {
        const value = values[k]!
        cursor.pending += k === 0 ? "[" : ","
        if (isLong(value)) cursor.long(value)
        else cursor.pending += JSON.stringify(value)
      }
      cursor.pending += "]\n"
      cursor.flush()
    }
    return cursor.body.subarray(0, cursor.at)
  }

  return {
    encode,
    encodeRows,
    release: (body) => {
      const kept = body.buffer
      // Given back twice, a storage would serve two bodies at once.
      if (spare.length < keep && kept.byteLength > 0 && kept.byteLength <= maxBytes && !spare.some((b) => b.buffer === kept)) {
        spare.push(Buffer.from(kept))
      }
    }
  }
}

/**
 * A larger buffer holding the first `at` bytes: room for the rows left at the average size so far,
 * with a margin, so that a body grows once or twice. Room never written costs address space, not
 * resident memory.
 */
const grow = (body: Buffer, at: number, needed: number, done: number, total: number): Buffer => {
  const average = done === 0 ? needed : at / done
  const size = Math.max(at + needed, Math.ceil(at + average * (total - done) * 1.25), body.length * 2)
  const next = Buffer.allocUnsafeSlow(size)
  body.copy(next, 0, 0, at)
  return next
}
