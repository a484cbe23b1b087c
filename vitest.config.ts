import { defineConfig } from "vitest/config"

// chDB (the embedded ClickHouse engine) must never load in a worker thread and allows one data
// directory per process: every test file runs in its own forked process.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    isolate: true,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.CI ? ["verbose"] : ["default"]
  }
})
