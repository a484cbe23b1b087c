import * as Options from "@effect/cli/Options"
import * as Command from "@effect/cli/Command"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { Profiles } from "../StorageConfig.js"
import * as StorageProfile from "../StorageProfile.js"

/** Flags every command accepts; each falls back to its environment variable. */
export const globalOptions = {
  profile: Options.choice("profile", Profiles).pipe(
    Options.withDescription("memory | lite | production (default: LLMTRACE_STORAGE_PROFILE, else lite)"),
    Options.optional
  ),
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription("where the lite profile keeps its data (default: LLMTRACE_DATA_DIR, else ./.llmtrace)"),
    Options.optional
  )
}

export const root = Command.make("llmtrace-storage", globalOptions)

/** The environment's configuration, with the command line's flags taking precedence. */
export const configProvider = Effect.map(root, ({ dataDir, profile }) => {
  const flags = new Map<string, string>()
  Option.map(profile, (p) => flags.set("LLMTRACE_STORAGE_PROFILE", p))
  Option.map(dataDir, (d) => flags.set("LLMTRACE_DATA_DIR", d))
  return ConfigProvider.fromMap(flags).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
})

/** The storage of the selected profile, built from that configuration. */
export const storage = Layer.unwrapEffect(
  Effect.map(configProvider, (provider) => StorageProfile.layer.pipe(Layer.provide(Layer.setConfigProvider(provider))))
)
