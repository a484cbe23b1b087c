/**
 * PostgreSQL rejects NUL (U+0000) in `text` and `jsonb`, yet every string must come back
 * byte-identical. This reversible encoding stores NUL as U+E000 "0" and a literal U+E000 (a
 * private-use character) as U+E000 U+E000. Strings with neither character, nearly all of them,
 * pass through untouched; the encoding is injective, so equality lookups and unique constraints
 * keep their meaning.
 */
const MARK = "\uE000"
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const needsEscape = /[\u0000\uE000]/
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const escapable = /[\u0000\uE000]/g
const escaped = /\uE000([0\uE000])/g

export const escape = (s: string): string =>
  needsEscape.test(s) ? s.replace(escapable, (c) => (c === "\u0000" ? `${MARK}0` : `${MARK}${MARK}`)) : s

export const unescape = (s: string): string =>
  s.includes(MARK) ? s.replace(escaped, (_, c: string) => (c === "0" ? "\u0000" : MARK)) : s

const mapStrings = (value: unknown, f: (s: string) => string): unknown => {
  if (typeof value === "string") return f(value)
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f))
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [f(k), mapStrings(v, f)]))
  }
  return value
}

/** Whether any string (keys too) of a JSON value passes `test`: a walk that allocates nothing. */
const someString = (value: unknown, test: (s: string) => boolean): boolean => {
  if (typeof value === "string") return test(value)
  if (Array.isArray(value)) return value.some((v) => someString(v, test))
  if (value !== null && typeof value === "object") {
    for (const key in value) if (test(key) || someString((value as Record<string, unknown>)[key], test)) return true
  }
  return false
}

const hasMark = (s: string) => s.includes(MARK)

/** Escapes every string (keys too) of a JSON value; a value with nothing to escape is returned as it is. */
export const escapeJson = (value: unknown): unknown => (someString(value, (s) => needsEscape.test(s)) ? mapStrings(value, escape) : value)

/** The inverse of {@link escapeJson}; a value with nothing to unescape (nearly all) is returned as it is, not copied. */
export const unescapeJson = (value: unknown): unknown => (someString(value, hasMark) ? mapStrings(value, unescape) : value)
