import stringWidth from "string-width"

/** Spaces that bring a cell to `width` terminal columns (a CJK character or an emoji takes two). */
const padding = (s: string, width: number): string => " ".repeat(Math.max(0, width - stringWidth(s)))

/** Plain-text tables for the terminal: columns sized to their widest cell on screen, numbers right-aligned. */
export const render = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  if (rows.length === 0) return "(none)"
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cell = (v: unknown) => (v === undefined || v === null ? "" : v instanceof Date ? v.toISOString() : String(v))
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === "number"))
  const widths = columns.map((c) => Math.max(stringWidth(c), ...rows.map((r) => stringWidth(cell(r[c])))))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((s, i) => (numeric[i] ? padding(s, widths[i]!) + s : s + padding(s, widths[i]!))).join("  ").trimEnd()
  return [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n")
}

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" })

/**
 * One line of a string for a table cell: control characters shown as spaces, cut to `max` terminal
 * columns between two characters as the eye sees them (never inside an emoji or a surrogate pair).
 */
export const clip = (s: string, max = 60): string => {
  // eslint-disable-next-line no-control-regex -- control characters would break the table
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ")
  if (stringWidth(flat) <= max) return flat
  let kept = ""
  let width = 0
  for (const { segment } of graphemes.segment(flat)) {
    const next = stringWidth(segment)
    if (width + next > max - 1) break
    kept += segment
    width += next
  }
  return `${kept}…`
}
