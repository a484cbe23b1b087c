import { describe, expect, it } from "vitest"
import * as Schema from "effect/Schema"
import { NewTenant, storedTenant, Tenant, TenantTokenEntry } from "../../src/index.js"
import { hostileStrings } from "../support/fixtures.js"

const utf8 = new TextEncoder()
const tenant = storedTenant(NewTenant.make({ name: "Acme", apiToken: "llmt_secret-token", plan: "pro", config: { region: "eu", n: [1, { deep: null }] } }))
const encoded = () => JSON.parse(new TextDecoder().decode(TenantTokenEntry.encode(tenant))) as Record<string, unknown>
const decodeJson = (value: unknown) => TenantTokenEntry.decode(utf8.encode(JSON.stringify(value)))

describe("TenantTokenEntry: the hand-fast decode, with the schema as the fallback", () => {
  it("round-trips a tenant, hostile text included, exactly as the schema would decode it", () => {
    for (const s of [...hostileStrings.filter((h) => h.isWellFormed()), "plain"]) {
      const t = { ...tenant, name: s, plan: s === "" ? "p" : s, config: { [s === "__proto__" ? "k" : s]: s } }
      const bytes = TenantTokenEntry.encode(t)
      const viaSchema = Schema.decodeUnknownSync(Schema.parseJson(Tenant))(new TextDecoder().decode(bytes))
      expect(TenantTokenEntry.decode(bytes)).toEqual({ _tag: "Found", tenant: viaSchema })
    }
  })

  it("reads misses and tombstones, each tombstone its own bytes", () => {
    expect(TenantTokenEntry.decode(TenantTokenEntry.noTenantBytes)).toEqual({ _tag: "NoTenant" })
    const [a, b] = [TenantTokenEntry.changedBytes(), TenantTokenEntry.changedBytes()]
    expect(TenantTokenEntry.decode(a)?._tag).toBe("Changed")
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false)
  })

  it("hands what the guard does not recognise to the schema, which accepts what it accepts", () => {
    // Another ISO form of the same instant, and an extra field: not what encode writes, still a tenant.
    const otherDate = decodeJson({ ...encoded(), createdAt: "2024-01-01T00:00:00+00:00" })
    expect(otherDate).toEqual({ _tag: "Found", tenant: { ...tenant, createdAt: new Date("2024-01-01T00:00:00Z") } })
    const extra = decodeJson({ ...encoded(), extra: 1 })
    expect(extra).toEqual({ _tag: "Found", tenant })
  })

  it("refuses what the schema refuses: the entry is dropped, never served", () => {
    for (const bad of [
      { ...encoded(), id: "not-a-uuid" },
      { ...encoded(), apiTokenHash: "ABC" },
      { ...encoded(), plan: "" },
      { ...encoded(), createdAt: "yesterday" },
      { ...encoded(), createdAt: "1800-01-01T00:00:00.000Z" },
      { ...encoded(), config: [1] },
      { ...encoded(), config: null },
      (({ name: _name, ...rest }) => rest)(encoded())
    ]) expect(decodeJson(bad)).toBeUndefined()
    // What JSON.parse can build but Json cannot hold.
    expect(TenantTokenEntry.decode(utf8.encode(JSON.stringify(encoded()).replace("\"eu\"", "1e999")))).toBeUndefined()
    expect(TenantTokenEntry.decode(utf8.encode(JSON.stringify(encoded()).replace("\"eu\"", "\"\\ud800\"")))).toBeUndefined()
    expect(TenantTokenEntry.decode(new Uint8Array([0xff, 0xfe]))).toBeUndefined()
    expect(TenantTokenEntry.decode(utf8.encode("{"))).toBeUndefined()
  })
})
