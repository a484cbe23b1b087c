import * as Config from "effect/Config"

/**
 * An adapter's options as unnamed `Config`s, one per option: its type, its check and its default.
 * Every adapter exports these as `fields`. Names are chosen by whoever composes: {@link named}
 * reads the fields under the option names themselves (the adapter's default `config`), or under
 * the names the composition root gives them (`StorageConfig`: the `LLMTRACE_*` variables).
 */
export type Fields<Options> = { readonly [K in keyof Required<Options>]: Config.Config<Options[K]> }

type Value<C> = C extends Config.Config<infer A> ? A : never

/** Reads `fields` under `names` (each key the option, each value its name), or under the option names when none are given. */
export const named: {
  <F extends Record<string, Config.Config<unknown>>>(fields: F): Config.Config<{ readonly [K in keyof F]: Value<F[K]> }>
  <F extends Record<string, Config.Config<unknown>>, K extends keyof F & string>(
    fields: F,
    names: { readonly [P in K]: string }
  ): Config.Config<{ readonly [P in K]: Value<F[P]> }>
} = (fields: Record<string, Config.Config<unknown>>, names?: Record<string, string>) =>
  Config.all(
    Object.fromEntries(
      Object.entries(fields)
        .filter(([key]) => names === undefined || key in names)
        .map(([key, field]) => [key, Config.nested(field, names?.[key] ?? key)])
    )
  )
