/**
 * `JSONEachRow` insert bodies (one JSON object a line, UTF-8), written straight into a Buffer.
 *
 * Why not an array of row objects joined into a string: an insert body held as a V8 string (two
 * bytes a character as soon as one character is outside Latin-1) was copied again when the chDB
 * connection prefixed the statement to it, and again when the engine read it, and each copy lived
 * in the old generation until a full collection. Here each row is made and stringified on its own
 * (short-lived, collected young) and the body is bytes outside the V8 heap, which the embedded
 * engine reads in place.
 *
 * Why bodies are reused: a body of thousands of rows is megabytes, freed only when V8 collects
 * its Buffer object; ingest makes one per batch, so hundreds of megabytes of settled bodies were
 * resident at a time. The storage of a settled body is kept for the next one instead.
 */
export interface Bodies {
  /** The body of `items`, each converted by `toRow` when it is written (a row is never held longer). */
  readonly encode: <A>(items: ReadonlyArray<A>, toRow: (item: A, index: number) => object) => Buffer
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

export const make = (options: Options = {}): Bodies => {
  const keep = options.keep ?? 4
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024
  const spare: Array<Buffer> = []
  return {
    encode: (items, toRow) => {
      // Storage is allocated unpooled (`allocUnsafeSlow`): a body owns its whole ArrayBuffer, so giving it back shares nothing.
      let body: Buffer = spare.pop() ?? Buffer.allocUnsafeSlow(0)
      let at = 0
      for (let i = 0; i < items.length; i++) {
        const line = JSON.stringify(toRow(items[i]!, i))
        // A UTF-16 unit takes at most 3 UTF-8 bytes (a surrogate pair, 2 units, takes 4).
        const worst = line.length * 3 + 1
        if (at + worst > body.length) body = grow(body, at, worst, line.length + 1, i, items.length)
        at += body.write(line, at, "utf8")
        body[at++] = 10
      }
      return body.subarray(0, at)
    },
    release: (body) => {
      const storage = body.buffer
      // Given back twice, a storage would serve two bodies at once.
      if (spare.length < keep && storage.byteLength > 0 && storage.byteLength <= maxBytes && !spare.some((b) => b.buffer === storage)) {
        spare.push(Buffer.from(storage))
      }
    }
  }
}

/**
 * A larger buffer holding the first `at` bytes: room for the rows left at the average size so far,
 * with a margin, so that a body grows once or twice. Room never written costs address space, not
 * resident memory.
 */
const grow = (body: Buffer, at: number, needed: number, first: number, done: number, total: number): Buffer => {
  const average = done === 0 ? first : at / done
  const size = Math.max(at + needed, Math.ceil(at + average * (total - done) * 1.25), body.length * 2)
  const next = Buffer.allocUnsafeSlow(size)
  body.copy(next, 0, 0, at)
  return next
}
