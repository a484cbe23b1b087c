import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** The engines of this package. */
export const knownBackends = ["memory", "clickhouse", "postgres", "sqlite", "redis", "storage"] as const

/**
 * Which engine an error came from: one of {@link knownBackends}, or the name an adapter of your own
 * gives itself (any non-empty name: `"my-kv"`). `string & {}` keeps the known names suggested.
 */
export type Backend = (typeof knownBackends)[number] | (string & {})
export const Backend: Schema.Schema<Backend> = Schema.NonEmptyString

const common = {
  backend: Backend,
  /** The operation that failed, e.g. `TraceRepository.storeSpan`. */
  operation: Schema.String,
  message: Schema.String
}

/** The engine cannot be reached, refused the connection, or did not answer within its timeout. */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  ...common,
  cause: Schema.optional(Schema.Defect)
}) {}

/** The engine rejected a statement. */
export class StorageQueryError extends Schema.TaggedError<StorageQueryError>()("StorageQueryError", {
  ...common,
  cause: Schema.optional(Schema.Defect)
}) {}

/** A unique id, token or key hash is already taken. */
export class StorageConflict extends Schema.TaggedError<StorageConflict>()("StorageConflict", {
  ...common,
  cause: Schema.optional(Schema.Defect)
}) {}

/** The entity the operation needs does not exist. */
export class StorageNotFound extends Schema.TaggedError<StorageNotFound>()("StorageNotFound", {
  ...common,
  entity: Schema.String,
  id: Schema.String
}) {}

/** The input failed validation; `path` names the offending field. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  ...common,
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number))
}) {}

export type StorageError = StorageUnavailable | StorageQueryError | StorageConflict | StorageNotFound | InvalidInput

export const StorageError = Schema.Union(StorageUnavailable, StorageQueryError, StorageConflict, StorageNotFound, InvalidInput)

const toPathKey = (key: PropertyKey): string | number => (typeof key === "symbol" ? String(key) : key)

/** Turns a schema failure into {@link InvalidInput}, keeping the path of the first bad field. */
export const fromParseError = (backend: Backend, operation: string) => (error: ParseResult.ParseError): InvalidInput => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const first = issues[0]
  return new InvalidInput({
    backend,
    operation,
    path: first ? first.path.map(toPathKey) : [],
    message: issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ")
  })
}

/**
 * Validates a value against the type side of a schema (what the service methods take), failing
 * with {@link InvalidInput}. Defaults are applied by the domain constructors, not here.
 */
export const validate = <A, I>(schema: Schema.Schema<A, I>, backend: Backend, operation: string) => {
  // Valid input, the hot path, is recognised by the guard (several times cheaper than building a
  // validation effect); only a failure runs the full validation, for the path and message.
  const valid = Schema.is(schema)
  const run = Schema.validate(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: A): Effect.Effect<A, InvalidInput> => {
    const proto = protoKeyPath(input)
    if (proto === undefined) {
      return valid(input) ? Effect.succeed(input) : Effect.mapError(run(input), fromParseError(backend, operation))
    }
    return Effect.fail(new InvalidInput({ backend, operation, path: proto, message: `${[...proto, "__proto__"].join(".")}: __proto__ cannot be a key (a decoded object cannot keep it)` }))
  }
}

/** Whether `value` holds, at any depth, a plain object with an own `__proto__` key (which {@link validate} refuses). */
export const hasProtoKey = (value: unknown): boolean => {
  if (typeof value !== "object" || value === null) return false
  if (Array.isArray(value)) return value.some(hasProtoKey)
  if (!isPlainObject(value)) return false
  if (Object.hasOwn(value, "__proto__")) return true
  for (const key in value) if (hasProtoKey((value as Record<string, unknown>)[key])) return true
  return false
}

const isPlainObject = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * The path of the first plain object in `value` with an own `__proto__` key. Schema decoding copies
 * keys by assignment, which drops such a key silently (or, for an object value, swaps the copy's
 * prototype): a map or JSON key `__proto__` is refused instead, the same way on every backend.
 */
const protoKeyPath = (value: unknown): Array<string | number> | undefined => {
  const path: Array<string | number> = []
  const visit = (v: unknown): boolean => {
    if (typeof v !== "object" || v === null) return false
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i)
        if (visit(v[i])) return true
        path.pop()
      }
      return false
    }
    if (!isPlainObject(v)) return false
    if (Object.hasOwn(v, "__proto__")) return true
    for (const key in v) {
      path.push(key)
      if (visit((v as Record<string, unknown>)[key])) return true
      path.pop()
    }
    return false
  }
  return visit(value) ? path : undefined
}
