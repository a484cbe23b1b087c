import { existsSync, readdirSync, readFileSync } from "node:fs"
import * as path from "node:path"

// Reads a dead-letter directory as a test looks at it: every line of its complete segments.

const segmentLines = (dir: string): Array<string> =>
  existsSync(dir)
    ? readdirSync(dir).filter((n) => n.endsWith(".jsonl")).sort().flatMap((n) => readFileSync(path.join(dir, n), "utf8").split("\n").filter((l) => l !== ""))
    : []

/** Lines of the segments waiting for replay (`dir`) and, with `failed`, of those the engine refused (`dir/failed`). */
export const deadLines = (dir: string, which: "pending" | "failed" | "both" = "both"): Array<string> => [
  ...(which === "failed" ? [] : segmentLines(dir)),
  ...(which === "pending" ? [] : segmentLines(path.join(dir, "failed")))
]

export interface DeadSpanLine {
  readonly version: number
  readonly reason?: string
  readonly span: { readonly spanId: string; readonly prompt: string }
}

/** The span lines: `{ version, reason?, span }`. */
export const deadSpans = (dir: string, which: "pending" | "failed" | "both" = "both"): Array<DeadSpanLine> =>
  deadLines(dir, which).map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => "span" in o) as unknown as Array<DeadSpanLine>

/** The trace record lines: `{ trace }`. */
export const deadRecords = (dir: string, which: "pending" | "failed" | "both" = "both") =>
  deadLines(dir, which).map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => "trace" in o) as unknown as Array<{ readonly reason?: string; readonly trace: { readonly traceId: string } }>

/** The header of each segment. */
export const headers = (dir: string, which: "pending" | "failed" | "both" = "both") =>
  deadLines(dir, which).filter((l) => l.startsWith("{\"deadLetter\"")).map((l) => (JSON.parse(l) as { deadLetter: { reason: string; spans: number } }).deadLetter)

/** Lines of `dir/rejected`, parsed: `{ segment, line, reason, text? }`. */
export const rejected = (dir: string) =>
  segmentLines(path.join(dir, "rejected")).map((l) => JSON.parse(l) as { segment: string; line: number; reason: string; text?: string })
