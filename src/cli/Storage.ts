import * as Options from "@effect/cli/Options"
import * as Command from "@effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as StorageConfig from "../StorageConfig.js"
import * as StorageProfile from "../StorageProfile.js"

/** Flags every command accepts; each falls back to its environment variable. */
const globalOptions = {
  profile: Options.choice("profile", StorageConfig.Profiles).pipe(
    Options.withDescription("memory | lite | production (default: LLMTRACE_STORAGE_PROFILE, else lite)"),
    Options.optional
  ),
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription("where the lite profile keeps its data (default: LLMTRACE_DATA_DIR, else ./.llmtrace)"),
    Options.optional
  )
}

export const root = Command.make("llmtrace-storage", globalOptions)

/** The profile's options: the command line's flags first, then the environment (`StorageConfig`), then the defaults. */
export const options = Effect.gen(function*() {
  const flags = yield* root
  const selected = yield* StorageConfig.forProfile(Option.isSome(flags.profile) ? flags.profile.value : yield* StorageConfig.profile)
  return selected.profile === "lite" && Option.isSome(flags.dataDir) ? { ...selected, dataDir: flags.dataDir.value } : selected
})

/** The storage of the selected profile, its options first changed by `adjust` (a command's own settings). */
export const storageWith = (adjust: (options: StorageProfile.Options) => StorageProfile.Options = (o) => o) =>
  Layer.unwrapEffect(Effect.map(options, (o) => StorageProfile.layer(adjust(o))))

export const storage = storageWith()

/**
 * The storage for a command that only reads (`stats`, `query`, `tenants list`): it never writes
 * schema, whatever `LLMTRACE_AUTO_MIGRATE` says (an unmigrated store fails, saying to run `migrate`).
 * The memory profile starts empty every time, so it always migrates.
 */
export const readOnlyStorage = storageWith((o) => (o.profile === "memory" ? o : { ...o, autoMigrate: false }))

/** The schema migrations of the selected profile, on bare clients. */
export const migrations = Layer.unwrapEffect(Effect.map(options, StorageProfile.migrations))

/** The storage for the demo, which sets up what it shows: it migrates unless `LLMTRACE_AUTO_MIGRATE=false`. */
export const demoStorage = storageWith((o) => (o.profile === "memory" ? o : { ...o, autoMigrate: o.autoMigrate ?? true }))
