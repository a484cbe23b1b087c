import { describe, expect, it } from "@effect/vitest"
import type * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as ConfigProviderPathPatch from "effect/ConfigProviderPathPatch"
import * as Effect from "effect/Effect"
import * as HashSet from "effect/HashSet"
import { readFileSync } from "node:fs"
import { StorageConfig } from "../../src/index.js"
import { adapters } from "../support/adapters.js"

/** Every variable a configuration reads: a provider that has none and records each request. */
const variablesRead = (configs: ReadonlyArray<Config.Config<unknown>>) => {
  const seen = new Set<string>()
  const provider = ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (path) => {
        seen.add(path.join("_"))
        return Effect.fail(ConfigError.MissingData([...path], "recording"))
      },
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: ConfigProviderPathPatch.empty
    })
  )
  for (const config of configs) Effect.runSync(Effect.either(Effect.withConfigProvider(config, provider)))
  return [...seen].sort()
}

describe(".env.example", () => {
  it("lists exactly the variables the configuration reads", () => {
    const read = variablesRead([StorageConfig.profile, StorageConfig.lite, StorageConfig.production])
    const listed = readFileSync(new URL("../../.env.example", import.meta.url), "utf8")
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined)
      .sort()
    expect(read.length).toBeGreaterThan(20)
    expect(listed).toEqual(read)
  })
})

describe("the LLMTRACE_* names live in StorageConfig only", () => {
  for (const [name, adapter] of Object.entries(adapters)) {
    it(`${name}.config reads its own option names, and nothing else`, () => {
      expect(variablesRead([adapter.config])).toEqual(Object.keys(adapter.fields).sort())
    })
  }
})
