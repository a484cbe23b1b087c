import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { LiveService } from "../../src/testing/index.js"

/** A live service a suite needs (the test kit's {@link LiveService.LiveService}), with the probe's time limit. */
export interface ServiceRequirement extends LiveService.LiveService {
  /** How long the probe may take. Default 3 s. */
  readonly timeoutMs?: number
}

export type LiveStatus =
  | { readonly available: true }
  | { readonly available: false; readonly diagnosis: string }

/** True where a live service is expected to run: CI (`CI=true`), read as the test kit reads it. */
const isCI = (): boolean => Effect.runSync(LiveService.isCI)

/**
 * Probes a live service once (the test kit's probe and one-line diagnosis). Under `CI=true` a missing
 * service throws that line, so the test file fails loudly; elsewhere the status says why, and
 * {@link describeLive} reports the suite as skipped.
 */
export const requireService = async (service: ServiceRequirement): Promise<LiveStatus> => {
  const result = await Effect.runPromise(Effect.either(LiveService.probe(service, service.timeoutMs ?? 3000)))
  if (Either.isRight(result)) return { available: true }
  const diagnosis = result.left.message
  if (isCI()) throw new Error(diagnosis)
  console.warn(`skipped: ${diagnosis}`)
  return { available: false, diagnosis }
}

/** Registers `suite` when the service is there; otherwise one skipped test named by the diagnosis. */
export const describeLive = (status: LiveStatus, suite: () => void): void => {
  if (status.available) {
    suite()
    return
  }
  describe.skip(status.diagnosis, () => {
    it("needs the live service", () => undefined)
  })
}
