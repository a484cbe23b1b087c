import * as Stream from "effect/Stream"

/** A line of a byte stream, numbered from 1: its text, or, when it is longer than the limit, only its length. */
export type Line =
  | { readonly _tag: "Text"; readonly number: number; readonly text: string }
  | { readonly _tag: "TooLong"; readonly number: number; readonly bytes: number }

/** The longest line read by default (the CLI's ingest uses the same): a span with a 1 MB prompt and its JSON escapes fit many times over. */
export const defaultMaxLineBytes = 8 * 1024 * 1024

/**
 * Splits bytes into lines (`\n`, a trailing `\r` dropped) without ever holding more than
 * `maxLineBytes` of one line: a longer line is skipped to its end and reported by number and length.
 */
export const split = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, maxLineBytes: number = defaultMaxLineBytes): Stream.Stream<Line, E, R> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder()
    let parts: Array<Uint8Array> = []
    let size = 0
    let number = 0
    let over = false

    const finish = (out: Array<Line>) => {
      number++
      if (over) out.push({ _tag: "TooLong", number, bytes: size })
      else {
        let text = decoder.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts, size))
        if (text.endsWith("\r")) text = text.slice(0, -1)
        out.push({ _tag: "Text", number, text })
      }
      parts = []
      size = 0
      over = false
    }
    const add = (piece: Uint8Array) => {
      size += piece.length
      if (size > maxLineBytes) {
        over = true
        parts = []
      } else if (!over && piece.length > 0) parts.push(piece)
    }
    const push = (chunk: Uint8Array): Array<Line> => {
      const out: Array<Line> = []
      let from = 0
      while (from <= chunk.length) {
        const at = chunk.indexOf(10, from)
        if (at === -1) {
          add(chunk.subarray(from))
          break
        }
        add(chunk.subarray(from, at))
        finish(out)
        from = at + 1
      }
      return out
    }
    return bytes.pipe(
      Stream.mapConcat(push),
      Stream.concat(Stream.suspend(() => {
        const out: Array<Line> = []
        if (size > 0 || over) finish(out)
        return Stream.fromIterable(out)
      }))
    )
  })
