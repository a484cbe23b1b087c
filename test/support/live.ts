import { describe, it } from "@effect/vitest"

/** A live service a suite needs, and what to tell a developer when it is not there. */
export interface ServiceRequirement {
  /** e.g. `Redis`, `PostgreSQL`. */
  readonly name: string
  /** The variable that points the suite at the service, e.g. `LLMTRACE_REDIS_URL`. */
  readonly variable: string
  /** Where the suite looks, for the message: `host:port`, never a password. */
  readonly address: string
  /** Resolves when the service answers; rejects (or times out) otherwise. */
  readonly probe: () => Promise<unknown>
  /** The command(s) that start it, e.g. `redis-server --daemonize yes --port 6379`. */
  readonly howToStart: string
  /** How long the probe may take. Default 3 s. */
  readonly timeoutMs?: number
}

export type LiveStatus =
  | { readonly available: true }
  | { readonly available: false; readonly diagnosis: string }

/** True where a live service is expected to run: CI (`CI=true`). */
export const isCI = (): boolean => {
  const ci = process.env.CI
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"
}

const withTimeout = <A>(promise: Promise<A>, ms: number): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    promise.then(
      (a) => {
        clearTimeout(timer)
        resolve(a)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      }
    )
  })

/** The one line that says what is missing, where it was looked for, and how to start it. */
export const diagnose = (service: ServiceRequirement, reason: string): string =>
  `${service.name} is not reachable at ${service.address} (${service.variable}; ${reason}): start it with ${service.howToStart}, or point ${service.variable} at a running server`

/**
 * Probes a live service once. Under `CI=true` a missing service throws that one line, so the test
 * file fails loudly; elsewhere the status says why, and {@link describeLive} reports the suite as skipped.
 */
export const requireService = async (service: ServiceRequirement): Promise<LiveStatus> => {
  try {
    await withTimeout(service.probe(), service.timeoutMs ?? 3000)
    return { available: true }
  } catch (error) {
    const diagnosis = diagnose(service, error instanceof Error ? error.message : String(error))
    if (isCI()) throw new Error(diagnosis)
    console.warn(`skipped: ${diagnosis}`)
    return { available: false, diagnosis }
  }
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
