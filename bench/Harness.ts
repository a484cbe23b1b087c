/** Side-by-side measurement: each case is run `reps` times; we keep the median, min and max. */
import { cpus, totalmem } from "node:os"

export interface Sample {
  readonly median: number
  readonly min: number
  readonly max: number
}

const sample = (values: ReadonlyArray<number>): Sample => {
  const sorted = [...values].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! }
}

/** Runs `once` (which performs `ops` operations) `reps` times after one warm-up; returns ops/s figures. */
export const throughput = async (ops: number, reps: number, once: () => Promise<unknown>): Promise<Sample> => {
  await once()
  const rates: Array<number> = []
  for (let i = 0; i < reps; i++) {
    const start = performance.now()
    await once()
    rates.push(ops / ((performance.now() - start) / 1000))
  }
  return sample(rates)
}

/** Runs `count` tasks with at most `concurrency` in flight. */
export const pool = async (count: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
}

export interface Row {
  readonly case: string
  readonly ours: Sample
  readonly baseline: Sample
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1))

/** A Markdown table of ops/s with the ratio ours / baseline (higher is better). */
export const table = (rows: ReadonlyArray<Row>, unit = "ops/s"): string =>
  [
    `| case | ours ${unit} (median, min–max) | baseline ${unit} (median, min–max) | ratio |`,
    "|---|---:|---:|---:|",
    ...rows.map((r) =>
      `| ${r.case} | ${fmt(r.ours.median)} (${fmt(r.ours.min)}–${fmt(r.ours.max)}) | ${fmt(r.baseline.median)} (${fmt(r.baseline.min)}–${fmt(r.baseline.max)}) | ${(r.ours.median / r.baseline.median).toFixed(2)}x |`
    )
  ].join("\n")

export const machine = (): string =>
  `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`
