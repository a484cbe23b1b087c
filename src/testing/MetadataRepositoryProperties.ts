import { describe, expect, type Vitest } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import { NewTenant, storedTenant } from "../domain/Tenant.js"
import * as MetadataRepository from "../MetadataRepository.js"
import { storable } from "./Arbitraries.js"

/** Two tenants' worth of fields: the second is what the first is updated to (same id). */
const tenants = FastCheck.tuple(storable(NewTenant), storable(NewTenant))

/**
 * Property cases of the MetadataRepository contract, run inside its layer: any tenant the schema
 * accepts is stored, found by id and by token, updated and deleted exactly, on every engine.
 */
export const metadataRepositoryProperties = (it: Vitest.MethodsNonLive<MetadataRepository.MetadataRepository, boolean>) =>
  describe("properties", () => {
    it.effect.prop("any tenant reads back as stored, by id and by token, through update and delete", [tenants], ([[first, second]]) =>
      Effect.gen(function*() {
        const repo = yield* MetadataRepository.MetadataRepository
        const updated: NewTenant = { ...second, id: first.id, createdAt: first.createdAt }
        yield* repo.createTenant(first)
        expect(yield* repo.getTenant(first.id)).toEqual(Option.some(storedTenant(first)))
        expect(yield* repo.getTenantByToken(first.apiToken)).toEqual(Option.some(storedTenant(first)))
        expect(yield* repo.updateTenant(updated)).toEqual(storedTenant(first))
        expect(yield* repo.getTenant(first.id)).toEqual(Option.some(storedTenant(updated)))
        expect(yield* repo.getTenantByToken(updated.apiToken)).toEqual(Option.some(storedTenant(updated)))
        if (updated.apiToken !== first.apiToken) expect(yield* repo.getTenantByToken(first.apiToken)).toEqual(Option.none())
        expect(yield* repo.deleteTenant(first.id)).toEqual(Option.some(storedTenant(updated)))
        expect(yield* repo.getTenantByToken(updated.apiToken)).toEqual(Option.none())
      }), { fastCheck: { numRuns: 30 } })
  })
