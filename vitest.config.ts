import { defineConfig } from "vitest/config"

// chDB (the embedded ClickHouse engine) must never load in a worker thread and allows one data
// directory per process: every test file runs in its own forked process.
// Two projects chosen by file name: `*.live.test.ts` needs a live service (PostgreSQL, Redis, a
// redis-server binary); everything else runs anywhere (`npm run test:unit`, with `clickhouse-http`). `npm test` runs all.
export default defineConfig({
  test: {
    pool: "forks",
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["verbose"] : ["default"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/**/*.live.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/**/*.live.test.ts"] } },
      // The migrations again, through @clickhouse/client's HTTP transport on the ClickHouse HTTP fixture.
      {
        extends: true,
        test: { name: "clickhouse-http", include: ["test/clickhouse/ClickHouseMigrations.test.ts"], env: { LLMTRACE_TEST_CLICKHOUSE_TRANSPORT: "http" } }
      }
    ]
  }
})
