import { describe, expect, it } from "@effect/vitest"
import { ClickHouseClient, ClickHouseMigrations } from "../../src/index.js"
import { clickHouseMigrations } from "./migrationsSuite.js"

clickHouseMigrations("embedded chDB", ClickHouseClient.layerWith({ url: "chdb::memory:" }))

describe("ClickHouse DDL (golden)", () => {
  it("single node", async () => {
    const ddl = ClickHouseMigrations.allStatements({ database: "llmtrace" }).join(";\n\n") + ";\n"
    await expect(ddl).toMatchFileSnapshot("__snapshots__/single-node.sql")
  })

  it("cluster mode: ON CLUSTER and Replicated engines, with retention", async () => {
    const ddl = ClickHouseMigrations.allStatements({ database: "llmtrace", cluster: "llmtrace_cluster", retentionDays: 90 })
    expect(ddl.every((s) => s.includes("ON CLUSTER `llmtrace_cluster`"))).toBe(true)
    expect(ddl.filter((s) => s.includes("ENGINE = Replicated"))).toHaveLength(3)
    await expect(ddl.join(";\n\n") + ";\n").toMatchFileSnapshot("__snapshots__/cluster.sql")
  })
})
