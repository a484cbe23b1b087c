import * as Schema from "effect/Schema"
import { NonEmptyText, TextMap } from "./Primitives.js"
import { Provider, SecurityScore, type TraceSpan } from "./Trace.js"

/**
 * Registers a value as a bound ClickHouse parameter of the given type and returns its placeholder
 * (`{p0:String}`): a filter's SQL never contains the value itself.
 */
export type Bind = (value: unknown, type: string) => string

/** The CLI `query` command's flag of a filter: a text, an integer, or repeated `key=value` pairs. */
export interface Flag {
  readonly name: string
  readonly kind: "text" | "integer" | "keyValue"
  readonly description: string
}

type ValueOf<P extends Schema.Struct.Field> = NonNullable<Schema.Struct.Type<{ readonly value: P }>[keyof Schema.Struct.Type<{ readonly value: P }>]>

/**
 * One span filter, described once: its field of {@link TraceQuery} (the schema), its ClickHouse
 * condition over a span row, its predicate over a stored span (the memory engine), and its CLI flag.
 */
export interface SpanFilter<P extends Schema.Struct.Field> {
  /** The TraceQuery field's schema. */
  readonly field: P
  /** The conditions over a `spans` row, joined with AND. */
  readonly clickhouse: (value: ValueOf<P>, bind: Bind) => ReadonlyArray<string>
  /** Whether a value filters anything at all (default: every value does; no tags does not). */
  readonly selects?: (value: ValueOf<P>) => boolean
  /** Whether a stored span matches the value; must agree with {@link clickhouse} on every engine. */
  readonly matches: (span: TraceSpan, value: ValueOf<P>) => boolean
  readonly flag: Flag
}

/** An entry of {@link table}; the field's schema alone decides the value type of the rest. */
const filter = <P extends Schema.Struct.Field>(field: P, rest: Omit<SpanFilter<P>, "field">): SpanFilter<P> => ({ field, ...rest })

/**
 * Every span filter of a query. A trace matches when one of its current spans matches them all.
 * Adding a filter is one entry here: TraceQuery, both engines and the CLI read this table.
 */
export const table = {
  provider: filter(Schema.optional(Provider), {
    clickhouse: (v, bind) => [`provider = ${bind(v, "String")}`],
    matches: (s, v) => s.provider === v,
    flag: { name: "provider", kind: "text", description: "only spans of this provider (OpenAI, Anthropic, ...)" }
  }),
  modelName: filter(Schema.optional(NonEmptyText), {
    clickhouse: (v, bind) => [`model_name = ${bind(v, "String")}`],
    matches: (s, v) => s.modelName === v,
    flag: { name: "model", kind: "text", description: "only spans of this model" }
  }),
  operationName: filter(Schema.optional(NonEmptyText), {
    clickhouse: (v, bind) => [`operation_name = ${bind(v, "String")}`],
    matches: (s, v) => s.operationName === v,
    flag: { name: "operation", kind: "text", description: "only spans of this operation" }
  }),
  // A NULL score compares to NULL, which WHERE treats as false: unscored spans match no score filter.
  minSecurityScore: filter(Schema.optional(SecurityScore), {
    clickhouse: (v, bind) => [`security_score >= ${bind(v, "UInt8")}`],
    matches: (s, v) => s.securityScore !== undefined && s.securityScore >= v,
    flag: { name: "min-score", kind: "integer", description: "only spans with a security score of at least this (0-100)" }
  }),
  maxSecurityScore: filter(Schema.optional(SecurityScore), {
    clickhouse: (v, bind) => [`security_score <= ${bind(v, "UInt8")}`],
    matches: (s, v) => s.securityScore !== undefined && s.securityScore <= v,
    flag: { name: "max-score", kind: "integer", description: "only spans with a security score of at most this (0-100)" }
  }),
  tags: filter(Schema.optionalWith(TextMap, { default: () => ({}), exact: true }), {
    clickhouse: (v, bind) =>
      Object.entries(v).map(([key, value]) => {
        const k = bind(key, "String")
        // Not `mapContains(tags, k)` nor `tags[k]`: over the LowCardinality keys (migration 3) both can
        // miss the empty key where a span has it (chDB 26.7; the contract's empty-key case). The
        // key's position in the key array is read right.
        return `has(mapKeys(tags), ${k}) AND mapValues(tags)[indexOf(mapKeys(tags), ${k})] = ${bind(value, "String")}`
      }),
    selects: (v) => Object.keys(v).length > 0,
    matches: (s, v) => Object.entries(v).every(([k, value]) => Object.hasOwn(s.tags, k) && s.tags[k] === value),
    flag: { name: "tag", kind: "keyValue", description: "key=value; repeat for several (all must match)" }
  })
}

export type Name = keyof typeof table

/** The TraceQuery fields of the span filters. */
export const fields: { readonly [K in Name]: (typeof table)[K]["field"] } = Object.fromEntries(
  Object.entries(table).map(([name, f]) => [name, f.field])
) as { readonly [K in Name]: (typeof table)[K]["field"] }

export const names = Object.keys(table) as ReadonlyArray<Name>

type Query = { readonly [K in Name]?: ValueOf<(typeof table)[K]["field"]> | undefined }

/** One filter of a query with its value, ready for either engine. */
export interface Active {
  readonly clickhouse: (bind: Bind) => ReadonlyArray<string>
  readonly matches: (span: TraceSpan) => boolean
}

/** The filters a query sets (a filter whose value selects nothing, like no tags, is left out). */
export const active = (q: Query): ReadonlyArray<Active> => {
  const found: Array<Active> = []
  for (const name of names) {
    const value = q[name]
    if (value === undefined) continue
    // The table's entries are typed per name; read through one shape here.
    const f = table[name] as unknown as SpanFilter<Schema.optional<Schema.Schema<unknown>>>
    if (f.selects !== undefined && !f.selects(value)) continue
    found.push({ clickhouse: (bind) => f.clickhouse(value, bind), matches: (span) => f.matches(span, value) })
  }
  return found
}

/** Whether a span matches every filter of a query. */
export const matchesAll = (filters: ReadonlyArray<Active>, span: TraceSpan): boolean => filters.every((f) => f.matches(span))
