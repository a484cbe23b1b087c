import { describe, expect, it } from "vitest"
import * as Schema from "effect/Schema"
import { hasProtoKey, isJsonObject, isNewTenant, JsonObject, NewTenant } from "../../src/index.js"
import { isKeyHash, KeyHash } from "../../src/domain/ApiKey.js"
import { isNonEmptyText, isText, isTimestamp, isUuid, NonEmptyText, Text, Timestamp, Uuid } from "../../src/domain/Primitives.js"
import { hostileStrings } from "../support/fixtures.js"

/**
 * The hand-written guards (hot paths) may say false for what their schema accepts (that input just
 * goes to the schema), but never true for what it refuses, which would let bad input through.
 * Each guard meets a valid value mutated one field at a time with values meant to break it.
 */
const oddValues: ReadonlyArray<unknown> = [
  undefined, null, true, 0, -1, 1.5, NaN, Infinity, -Infinity, 10n, "", " ", "\uD800", "a\uDFFFb",
  ...hostileStrings, "00000000-0000-0000-0000-00000000000g", "00000000-0000-0000-0000-000000000000",
  "00000000-0000-0000-0000-000000000000\n", new Date(NaN), new Date(Date.UTC(1899, 11, 31)), new Date(Date.UTC(2300, 0, 1)),
  new Date(Date.UTC(2026, 0, 1)), new Date(Date.UTC(1900, 0, 1)), new Date(Date.UTC(2299, 11, 31, 23, 59, 59, 999)),
  [], [1, "a"], new Array<unknown>(3), {}, Object.create(null), Object.create({ inherited: 1 }), JSON.parse("{\"__proto__\": 1}"),
  { a: undefined }, { a: NaN }, { a: "\uD800" }, { "\uD800": 1 }, { a: [1, { b: Infinity }] }, { a: { b: { c: JSON.parse("{\"__proto__\": {}}") } } },
  { a: () => 1 }, { a: Symbol("s") }, { a: new Date(0) }, { a: new Uint8Array(1) }, { a: [undefined] }, new Map(), new Uint8Array(2),
  nested(40), nested(10), Object.assign(Object.create(null), { a: 1 }), { nested: { deeper: [null, false, "x", 2.5] } }
]

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { k: value }
  return value
}

const mutations = <A extends object>(valid: A): Array<unknown> => [
  valid,
  ...Object.keys(valid).flatMap((key) => [
    ...oddValues.map((v) => ({ ...valid, [key]: v })),
    Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))
  ]),
  ...oddValues,
  { ...valid, extra: 1 },
  Object.assign(Object.create(null), valid),
  Object.assign(Object.create({ inherited: true }), valid),
  { ...valid, ...JSON.parse("{\"__proto__\": 1}") }
]

/** The verdict of the boundary's slow path: the schema, and no `__proto__` key anywhere. */
const slowAccepts = <A, I>(schema: Schema.Schema<A, I>) => {
  const is = Schema.is(schema)
  return (u: unknown) => !hasProtoKey(u) && is(u)
}

describe("hand-written guards accept nothing their schema refuses", () => {
  it("isJsonObject against JsonObject", () => {
    const accepts = slowAccepts(JsonObject)
    const candidates = [...oddValues, ...oddValues.map((v) => ({ k: v })), ...oddValues.map((v) => ({ k: [v] })), ...oddValues.map((v) => ({ k: { j: v } }))]
    const wrong = candidates.filter((c) => isJsonObject(c) && !accepts(c))
    expect(wrong).toEqual([])
    // and it is worth having: the usual values are recognised without the schema
    expect([{}, { region: "eu", rpm: 600 }, { a: [1, "x", null, { b: true }] }].every(isJsonObject)).toBe(true)
  })

  it("each primitive's one guard (isText, isNonEmptyText, isUuid, isKeyHash, isTimestamp) against its schema", () => {
    const digest = "a".repeat(64)
    const candidates = [...oddValues, "text", "00000000-0000-0000-0000-00000000000a", "0000000A-0000-0000-0000-000000000000", digest, digest.toUpperCase(), `${digest}\n`]
    const pairs: ReadonlyArray<readonly [string, (u: unknown) => boolean, (u: unknown) => boolean]> = [
      ["isText", isText, Schema.is(Text)],
      ["isNonEmptyText", isNonEmptyText, Schema.is(NonEmptyText)],
      ["isUuid", isUuid, Schema.is(Uuid)],
      ["isKeyHash", isKeyHash, Schema.is(KeyHash)],
      ["isTimestamp", isTimestamp, Schema.is(Schema.typeSchema(Timestamp))]
    ]
    for (const [name, guard, accepts] of pairs) {
      expect({ name, wrong: candidates.filter((c) => guard(c) && !accepts(c)) }).toEqual({ name, wrong: [] })
      expect({ name, recognised: candidates.some(guard) }).toEqual({ name, recognised: true })
    }
  })

  it("isNewTenant against NewTenant", () => {
    const accepts = slowAccepts(NewTenant)
    const valid = NewTenant.make({ name: "acme", apiToken: "tok", plan: "pro", config: { region: "eu", limits: { rpm: 600 } } })
    const candidates = [...mutations(valid), ...mutations({ ...valid, config: {} }).flatMap((t) => [t])]
    const wrong = candidates.filter((c) => isNewTenant(c) && !accepts(c))
    expect(wrong).toEqual([])
    expect(isNewTenant(valid)).toBe(true)
    expect(candidates.filter((c) => isNewTenant(c)).length).toBeGreaterThan(1)
  })
})
