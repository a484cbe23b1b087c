/** Plain-text tables for the terminal: columns sized to their widest cell, numbers right-aligned. */
export const render = (rows: ReadonlyArray<Record<string, unknown>>): string => {
  if (rows.length === 0) return "(none)"
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cell = (v: unknown) => (v === undefined || v === null ? "" : v instanceof Date ? v.toISOString() : String(v))
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || typeof r[c] === "number"))
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((s, i) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join("\n")
}

/** One line of a string for a table cell: control characters shown as spaces, cut to `max` characters. */
export const clip = (s: string, max = 60): string => {
  // eslint-disable-next-line no-control-regex -- control characters would break the table
  const flat = s.replace(/[\u0000-\u001f\u007f]+/g, " ")
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}
