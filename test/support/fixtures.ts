import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { prompts as builtinPrompts } from "../../src/testing/Fixtures.js"

// Our suites use the fixture builders users get from `llmtrace-storage/testing` (one implementation),
// with the project's real prompt texts where they are present.
export * from "../../src/testing/Fixtures.js"

const promptsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/data/prompts")

/** Real prompt texts from `../shared/data/prompts/` (the test kit's built-in set where that folder is absent). */
export const prompts: ReadonlyArray<string> = (() => {
  const files = ["benign_samples.json", "injection_samples.json", "encoding_evasion.json"]
  const found = files.filter((f) => existsSync(path.join(promptsDir, f)))
  if (found.length === 0) return builtinPrompts
  return found.flatMap((f) => (JSON.parse(readFileSync(path.join(promptsDir, f), "utf8")) as Array<{ text: string }>).map((p) => p.text))
})()
