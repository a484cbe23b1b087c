/**
 * Generated hostile strings: everything that breaks naive quoting, escaping, encoding or
 * templating. Every string here is well-formed Unicode and must round-trip byte-identical on every
 * backend; {@link loneSurrogates} are the strings no backend can store faithfully (rejected alike).
 */
import { bigString } from "./fixtures.js"

const controls: ReadonlyArray<string> = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  "\u007F"
]

const quotes: ReadonlyArray<string> = ["'", "\"", "`", "\\", "\\'", "''", "\\\\'", "\\\"", "\"\"", "\\\\", "\\\\\\", "'\\''", "\\`", "$$", "$tag$"]

const fragments: ReadonlyArray<string> = [
  "'); DROP TABLE tenants; --",
  "\"); DROP TABLE spans; --",
  "' OR '1'='1",
  "1; SELECT * FROM system.users",
  "{x:String}",
  "{tenant_id:UUID}",
  "{{x:String}}",
  "\\'",
  "FORMAT JSON",
  "FORMAT TabSeparated",
  "SETTINGS readonly=1",
  "/* */",
  "/*",
  "*/",
  "-- comment",
  "#",
  "$1",
  "$2::text",
  "?",
  "??",
  ":name",
  "@p1",
  "E'\\x00'",
  "U&'\\0000'",
  "\\N",
  "NULL",
  "null",
  "undefined",
  "true",
  "0x00",
  "\\x00",
  "\\u0000",
  "\\0",
  "%00",
  "</script><script>alert(1)</script>",
  "${x}",
  "%s",
  "%n",
  "%d%d%d%d",
  "%x%p",
  "{{x}}",
  "{0}",
  "{}",
  "#{x}",
  "<%= x %>",
  "{{{x}}}",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty"
]

const unicode: ReadonlyArray<string> = [
  "e\u0301",
  "a\u030A\u0323\u0331",
  "Z\u0335\u0321\u0322\u0327\u0328",
  "\u202Eevil\u202C",
  "\u202Dltr\u202C",
  "\u2066isolate\u2069",
  "\u200F\u200E",
  "\u200B",
  "\u200C",
  "\u200D",
  "\u2060",
  "\uFEFF",
  "\uFEFFbom-led",
  "\uFFFD",
  "\uFFFE\uFFFF",
  "\uE000",
  "\uE0000",
  "\uE000\uE000",
  "\uE000\uE0000",
  "\u0000\uE000",
  "\u0000\uE0000",
  "0\uE000",
  "🚀",
  "👨‍👩‍👧‍👦",
  "🏳️‍🌈",
  "🇺🇦",
  "👍🏽",
  "𝕏𝔂𝔃",
  "\u{10FFFF}",
  "\u{1F600}\u200D\u{1F600}",
  "مرحبا",
  "שלום",
  "日本語テキスト",
  "\u0085\u2028\u2029",
  "\u00A0\u3000"
]

/** Lone UTF-16 surrogates, alone and embedded: no UTF-8 encoding exists for them. */
export const loneSurrogates: ReadonlyArray<string> = [
  "\uD800",
  "\uDFFF",
  "a\uD83Db",
  "\uDE00x",
  "x\uD800",
  "\uDC00\uD800",
  "ok 🚀 \uDBFF"
]

const unique = (strings: ReadonlyArray<string>): Array<string> => [...new Set(strings)]

/**
 * At least 2000 distinct hostile strings, each well-formed: control characters alone and embedded,
 * quote/backslash combinations, SQL/ClickHouse fragments, format and template look-alikes, combining
 * marks, bidi overrides, zero-width characters, astral emoji and ZWJ sequences, the BOM, U+E000 (the
 * PostgreSQL NUL escape's marker) and, when `big` is set, a few 1 MB strings.
 */
export const hostileInputs = (options: { readonly big?: number } = {}): ReadonlyArray<string> => {
  const atoms = [...controls, ...quotes, ...fragments, ...unicode]
  const out: Array<string> = ["", " ", "  leading and trailing  "]
  for (const c of controls) out.push(c, `a${c}b`, `${c}${c}`, `end${c}`, `${c}start`)
  // Every ordered pair of quote atoms, alone and embedded.
  for (const a of quotes) for (const b of quotes) out.push(`${a}${b}`, `x${a}y${b}z`)
  for (const f of fragments) out.push(f, `value${f}`, `${f}\u0000`, `'${f}'`, `"${f}"`)
  for (const u of unicode) out.push(u, `text ${u} text`, `${u}${u}`, `${u}\u0000${u}`)
  // Pairs across the categories, so each meets every other kind of trouble.
  for (let i = 0; i < atoms.length; i++) {
    const a = atoms[i]!
    const b = atoms[(i * 7 + 3) % atoms.length]!
    const c = atoms[(i * 13 + 5) % atoms.length]!
    out.push(`${a}${b}`, `${a} ${b} ${c}`, `${c}\\${a}'${b}`)
  }
  let result = unique(out)
  // Top up with combinations of three atoms until there are at least 2000.
  for (let i = 0; result.length < 2000; i++) {
    result.push(`${atoms[i % atoms.length]}${atoms[(i * 31 + 11) % atoms.length]}${atoms[(i * 17 + 29) % atoms.length]}#${i}`)
    result = unique(result)
  }
  const big = options.big ?? 3
  for (let i = 0; i < big; i++) {
    const mb = bigString(1_000_000)
    result.push(i === 0 ? mb : i === 1 ? `\u0000\uE000\uE0000'"\\${mb}` : `${mb}🚀\u202E\u0000`)
  }
  for (const s of result) {
    if (!s.isWellFormed()) throw new Error(`hostileInputs produced an ill-formed string: ${JSON.stringify(s)}`)
  }
  return result
}

/** UTF-8 bytes of a string. */
export const bytesOf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "utf8"))

/** Splits `items` into chunks of at most `size`. */
export const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
