import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { StorageError } from "./StorageError.js"

/** What a process hears about token changes made anywhere. */
export interface Listener {
  /** A tenant token with this SHA-256 was created, rotated or deleted. */
  readonly changed: (apiTokenHash: string) => void
  /**
   * Whether every change is being heard. `false` when the subscription is lost (changes made
   * meanwhile are missed), `true` once it is back; called with `true` when first subscribed.
   */
  readonly listening: (up: boolean) => void
}

/**
 * The channel that keeps the in-process token cache of every process honest: each token change is
 * published, and every process drops its in-process entry for that token when it hears it.
 */
export interface TokenChangesShape {
  /** Tells every listening process (this one included) that these token hashes changed. */
  readonly publish: (apiTokenHashes: ReadonlyArray<string>) => Effect.Effect<void, StorageError>
  /** Registers a listener for as long as the scope is open. */
  readonly listen: (listener: Listener) => Effect.Effect<void, never, Scope.Scope>
}

export class TokenChanges extends Context.Tag("llmtrace-storage/TokenChanges")<TokenChanges, TokenChangesShape>() {}

/**
 * One process only (the memory and lite profiles, whose cache is in-process): nothing to publish,
 * since the writer drops its own in-process entries itself; always listening.
 */
export const local: TokenChangesShape = {
  publish: () => Effect.void,
  listen: (listener) => Effect.sync(() => listener.listening(true))
}

export const layerLocal: Layer.Layer<TokenChanges> = Layer.succeed(TokenChanges, local)
