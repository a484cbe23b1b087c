import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { type Backend, StorageUnavailable } from "./StorageError.js"

/**
 * Bounds a backend call; running out of time is a {@link StorageUnavailable} that says how long it
 * waited, and for whom: `server` (default: the backend's name), e.g. `ClickHouse at http://host:8123`.
 */
export const withTimeout = <A, E, R>(
  self: Effect.Effect<A, E, R>,
  options: { readonly backend: Backend; readonly operation: string; readonly timeout: Duration.Duration; readonly server?: string }
): Effect.Effect<A, E | StorageUnavailable, R> =>
  Effect.timeoutFail(self, {
    duration: options.timeout,
    onTimeout: () =>
      new StorageUnavailable({
        backend: options.backend,
        operation: options.operation,
        message: `${options.server ?? options.backend} did not answer within ${Duration.format(options.timeout)}`
      })
  })
