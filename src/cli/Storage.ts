import * as Options from "@effect/cli/Options"
import * as Command from "@effect/cli/Command"
import type * as Config from "effect/Config"
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

/** The environment's configuration, with the command line's flags (and a command's own settings) taking precedence. */
export const configProvider = (settings: Record<string, string> = {}) =>
  Effect.map(root, ({ dataDir, profile }) => {
    const flags = new Map<string, string>(Object.entries(settings))
    Option.map(profile, (p) => flags.set("LLMTRACE_STORAGE_PROFILE", p))
    Option.map(dataDir, (d) => flags.set("LLMTRACE_DATA_DIR", d))
    return ConfigProvider.fromMap(flags).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
  })

/** A layer built under {@link configProvider}. */
const configured = <A, E, R>(layer: Layer.Layer<A, E, R>, settings?: Record<string, string>) =>
  Layer.unwrapEffect(Effect.map(configProvider(settings), (provider) => layer.pipe(Layer.provide(Layer.setConfigProvider(provider)))))

/** The storage of the selected profile; `settings` are configuration variables this command fixes. */
export const storageWith = (settings?: Record<string, string>) => configured(StorageProfile.layer, settings)

export const storage = storageWith()

/** The schema migrations of the selected profile, on bare clients. */
export const migrations = configured(StorageProfile.migrations)

/** A configuration value under the command line's flags. */
export const config = <A>(c: Config.Config<A>) => Effect.flatMap(configProvider(), (provider) => Effect.withConfigProvider(c, provider))
