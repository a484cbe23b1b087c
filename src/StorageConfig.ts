import * as Config from "effect/Config"
import * as path from "node:path"

export const Profiles = ["memory", "lite", "production"] as const
export type Profile = (typeof Profiles)[number]

/** `LLMTRACE_STORAGE_PROFILE`: which composite to build (default `lite`, the embedded one). */
export const profile: Config.Config<Profile> = Config.literal(...Profiles)("LLMTRACE_STORAGE_PROFILE").pipe(
  Config.withDefault("lite" as const)
)

/** `LLMTRACE_DATA_DIR`: where the lite profile keeps `clickhouse/` and `metadata.db` (default `./.llmtrace`). */
export const dataDir: Config.Config<string> = Config.string("LLMTRACE_DATA_DIR").pipe(
  Config.withDefault("./.llmtrace"),
  Config.map((dir) => path.resolve(dir))
)

/** `LLMTRACE_AUTO_MIGRATE`: run pending migrations when a layer is built (default true). */
export const autoMigrate: Config.Config<boolean> = Config.boolean("LLMTRACE_AUTO_MIGRATE").pipe(Config.withDefault(true))

/** `LLMTRACE_CACHE_PREFIX`: namespace of every cache key (default `llmtrace:`). */
export const cachePrefix: Config.Config<string> = Config.string("LLMTRACE_CACHE_PREFIX").pipe(Config.withDefault("llmtrace:"))
