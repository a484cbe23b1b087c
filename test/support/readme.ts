import { readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

/** The code block under `<!-- testing-example -->` in the README. */
export const readmeExample = (): string => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8")
  const match = /<!-- testing-example -->\n```ts\n([\s\S]*?)```/.exec(readme)
  if (match === null) throw new Error("README.md has no <!-- testing-example --> block")
  return match[1]!
}

/** The code block under `<!-- application-example -->` ("Using it in an application"): plain JavaScript, typed or not. */
export const readmeApplicationExample = (): string => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8")
  const match = /<!-- application-example -->\n```ts\n([\s\S]*?)```/.exec(readme)
  if (match === null) throw new Error("README.md has no <!-- application-example --> block")
  return match[1]!
}

/** The code block under `<!-- otel-example -->` in the README ("Sending OpenTelemetry traces"). */
export const readmeOtelExample = (): string => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8")
  const match = /<!-- otel-example -->\n```ts\n([\s\S]*?)```/.exec(readme)
  if (match === null) throw new Error("README.md has no <!-- otel-example --> block")
  return match[1]!
}

/**
 * The commands of the bash block under `<!-- install… -->` (`install`, `install-without-engine`, `install-test-kit`),
 * one a line, as written (comments and blank lines dropped).
 */
export const readmeInstallLines = (name: string): ReadonlyArray<string> => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8")
  const match = new RegExp(`<!-- ${name} -->\\n\`\`\`bash\\n([\\s\\S]*?)\`\`\``).exec(readme)
  if (match === null) throw new Error(`README.md has no <!-- ${name} --> block`)
  return match[1]!.split("\n").map((line) => line.replace(/(^|\s)#.*$/, "").trim()).filter((line) => line !== "")
}
