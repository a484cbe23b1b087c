import { describe, expect, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import { NewTenant, storedTenant, type Tenant } from "../domain/Tenant.js"
import * as MetadataRepository from "../MetadataRepository.js"
import { storable } from "./Arbitraries.js"

/** Two tenants' worth of fields: the second is what the first is updated to (same id). */
const tenants = FastCheck.tuple(storable(NewTenant), storable(NewTenant))

/**
 * A tenant as every engine reads it back: its config is JSON, which has no negative zero (a
 * contract case says so), so the expectation goes through JSON too.
 */
const asRead = (t: NewTenant): Tenant => {
  const stored = storedTenant(t)
  return { ...stored, config: JSON.parse(JSON.stringify(stored.config)) }
}

/**
 * Property cases of the MetadataRepository contract, run inside its layer: any tenant the schema
 * accepts is stored, found by id and by token, updated and deleted exactly, on every engine.
 */
export const metadataRepositoryProperties = (it: Vitest.MethodsNonLive<MetadataRepository.MetadataRepository, boolean>) =>
  describe("properties", () => {
    it.effect.prop("any tenant reads back as stored, by id and by token, through update and delete", [tenants], ([[a, b]]) =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        // Tokens unique to this run (other cases of the suite store tokens too); the generated text stays in front.
        const run = randomUUID()
        const first: NewTenant = { ...a, apiToken: `${a.apiToken}${run}` }
        const updated: NewTenant = { ...b, id: a.id, createdAt: a.createdAt, apiToken: `${b.apiToken}${run}-2` }
        yield* repo.createTenant(first)
        expect(yield* repo.getTenant(first.id)).toEqual(Option.some(asRead(first)))
        expect(yield* repo.getTenantByToken(first.apiToken)).toEqual(Option.some(asRead(first)))
        expect(yield* repo.updateTenant(updated)).toEqual(asRead(first))
        expect(yield* repo.getTenant(first.id)).toEqual(Option.some(asRead(updated)))
        expect(yield* repo.getTenantByToken(updated.apiToken)).toEqual(Option.some(asRead(updated)))
        expect(yield* repo.getTenantByToken(first.apiToken)).toEqual(Option.none())
        expect(yield* repo.deleteTenant(first.id)).toEqual(Option.some(asRead(updated)))
        expect(yield* repo.getTenantByToken(updated.apiToken)).toEqual(Option.none())
      }).pipe(
        // A failed run leaves nothing behind, so fast-check's shrinking (which reuses ids) sees the real failure.
        Effect.ensuring(Effect.flatMap(MetadataRepository.MetadataRepository, (repo) => Effect.ignore(repo.deleteTenant(a.id))))
      ), { fastCheck: { numRuns: 30 } })
  })
