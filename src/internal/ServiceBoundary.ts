import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Schema from "effect/Schema"
import type * as Tracer from "effect/Tracer"
import { type Backend, hasProtoKey, type InvalidInput, type StorageError, validate } from "../StorageError.js"
import { withTimeout } from "./Timeout.js"

/**
 * The one boundary every port's `make` puts around a backend (TraceRepository, MetadataRepository,
 * Cache): each operation validates its input, is bounded in time where the backend does not bound
 * its calls, and is a span named `<Service>.<method>` with a `storage.backend` attribute when the
 * application installed a tracer.
 *
 * It is built for the hot path (DESIGN §10 "Observability cost"): a valid input is recognised by a
 * guard and the schema runs only to describe a failure; without a tracer no span is created at all
 * (even a span of Effect's built-in tracer costs 5–7 µs a call); no `Effect.fn` (it builds an Error
 * a call) and no stack is captured; one `withFiberRuntime` a call decides all of that.
 */

/** The tracer a fiber has when the application installs none (Effect's built-in one), captured once. */
const builtInTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** True when the fiber runs under a tracer the application installed, with tracing enabled. */
const isTracing = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.currentTracer !== builtInTracer && fiber.getFiberRef(FiberRef.currentTracerEnabled)

/**
 * How an operation validates its input. `guard` accepts input the schema accepts as it is, cheaply;
 * anything it does not recognise goes to `slow`, the schema itself, which either accepts it after all
 * or fails with the `InvalidInput` that names the field. A guard may therefore be conservative (say
 * false for anything unusual) but must never accept what the schema refuses.
 */
export interface Check<A> {
  readonly guard: (input: unknown) => boolean
  readonly slow: (input: A) => Effect.Effect<A, InvalidInput>
}

/**
 * A check by `schema` (the type side, as service methods take it). `guard` plugs in a hand-written
 * recogniser; by default `Schema.is` after the `__proto__` key walk, the same verdict as `slow`.
 */
export const check = <A, I>(
  schema: Schema.Schema<A, I>,
  backend: Backend,
  operation: string,
  guard?: (input: unknown) => boolean
): Check<A> => {
  const slow = validate(schema, backend, operation)
  if (guard !== undefined) return { guard, slow }
  const is = Schema.is(schema)
  return { guard: (input) => !hasProtoKey(input) && is(input), slow }
}

/** A check of an array whose elements are checked by `element`'s guard; the schema of the array reports failures. */
export const checkArray = <A, I>(
  element: Schema.Schema<A, I>,
  backend: Backend,
  operation: string,
  guard?: (input: unknown) => boolean
): Check<ReadonlyArray<A>> => {
  if (guard === undefined) return check(Schema.Array(element), backend, operation)
  return check(Schema.Array(element), backend, operation, (input) => Array.isArray(input) && input.every(guard))
}

export interface BoundaryOptions {
  readonly backend: Backend
  /** The service's name, the first part of every operation's name: `TraceRepository`. */
  readonly service: string
  /** Upper bound of every call; `undefined` when the backend bounds its calls itself (no timer is added). */
  readonly timeout: Duration.Duration | undefined
}

export interface Boundary {
  /** `<service>.<method>` */
  readonly name: (method: string) => string
  /**
   * One operation: `input` checked by `check` (none: no input to check), then `run`, bounded by the
   * timeout, the whole a span `<service>.<method>` when a tracer is installed.
   */
  readonly operation: <I, A, E>(
    method: string,
    check: Check<I> | undefined,
    run: (input: I) => Effect.Effect<A, E>
  ) => (input: I) => Effect.Effect<A, E | StorageError>
  /** A composite operation (no timer, no validation of its own), a span `<service>.<method>` when a tracer is installed. */
  readonly traced: <A, E, R>(method: string, self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const make = (options: BoundaryOptions): Boundary => {
  const { backend, service, timeout } = options
  const spanOptions = { attributes: { "storage.backend": backend }, captureStackTrace: false } as const
  const name = (method: string) => `${service}.${method}`

  const operation = <I, A, E>(
    method: string,
    check: Check<I> | undefined,
    run: (input: I) => Effect.Effect<A, E>
  ): (input: I) => Effect.Effect<A, E | StorageError> => {
    const operation = name(method)
    const bounded: (input: I) => Effect.Effect<A, E | StorageError> = timeout === undefined
      ? run
      : (input) => withTimeout(run(input), { backend, operation, timeout })
    const body: (input: I) => Effect.Effect<A, E | StorageError> = check === undefined
      ? bounded
      : (input) => (check.guard(input) ? bounded(input) : Effect.flatMap(check.slow(input), bounded))
    return (input) =>
      Effect.withFiberRuntime((fiber) => (isTracing(fiber) ? Effect.withSpan(body(input), operation, spanOptions) : body(input)))
  }

  const traced = <A, E, R>(method: string, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const operation = name(method)
    return Effect.withFiberRuntime((fiber) => (isTracing(fiber) ? Effect.withSpan(self, operation, spanOptions) : self))
  }

  return { name, operation, traced }
}
