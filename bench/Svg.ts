/** A hand-written SVG line chart: log-scale x axis, linear or log y axis, one polyline per series, legend. */

export interface Series {
  readonly name: string
  readonly color: string
  /** [x, y] points; y may carry a min–max range drawn as a whisker */
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly min?: number; readonly max?: number }>
}

export interface Chart {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series>
  readonly logY?: boolean
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const tick = (v: number) =>
  v >= 1e6 ? `${+(v / 1e6).toPrecision(3)}M` : v >= 1e3 ? `${+(v / 1e3).toPrecision(3)}k` : `${+v.toPrecision(3)}`

export const lineChart = (c: Chart): string => {
  const W = 640, H = 400, L = 80, R = 20, T = 40, B = 60
  const all = c.series.flatMap((s) => s.points)
  const xs = all.map((p) => p.x)
  const ys = all.flatMap((p) => [p.y, p.min ?? p.y, p.max ?? p.y])
  const [x0, x1] = [Math.log10(Math.min(...xs)), Math.log10(Math.max(...xs))]
  const yLo = c.logY ? Math.log10(Math.min(...ys) * 0.8) : 0
  const yHi = c.logY ? Math.log10(Math.max(...ys) * 1.25) : Math.max(...ys) * 1.1
  const px = (x: number) => L + ((Math.log10(x) - x0) / Math.max(x1 - x0, 1e-9)) * (W - L - R)
  const py = (y: number) => T + (1 - ((c.logY ? Math.log10(y) : y) - yLo) / Math.max(yHi - yLo, 1e-9)) * (H - T - B)
  const xTicks = [...new Set(xs)].sort((a, b) => a - b)
  const yTicks = c.logY
    ? Array.from({ length: Math.floor(yHi) - Math.ceil(yLo) + 1 }, (_, i) => 10 ** (Math.ceil(yLo) + i)).flatMap((d) => [d, 2 * d, 5 * d])
      .filter((v) => Math.log10(v) >= yLo && Math.log10(v) <= yHi)
    : Array.from({ length: 6 }, (_, i) => (yHi / 5) * i)
  const out: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    ...xTicks.map((x) =>
      `<line x1="${px(x)}" y1="${T}" x2="${px(x)}" y2="${H - B + 5}" stroke="#ddd"/><text x="${px(x)}" y="${H - B + 18}" text-anchor="middle">${tick(x)}</text>`),
    ...yTicks.map((y) =>
      `<line x1="${L - 5}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#eee"/><text x="${L - 8}" y="${py(y) + 4}" text-anchor="end">${tick(y)}</text>`),
    `<text x="${(L + W - R) / 2}" y="${H - 15}" text-anchor="middle">${esc(c.xLabel)} (log scale)</text>`,
    `<text transform="translate(18 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}${c.logY ? " (log scale)" : ""}</text>`
  ]
  c.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x)
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`)
    for (const p of pts) {
      out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${s.color}"/>`)
      if (p.min !== undefined && p.max !== undefined) {
        out.push(`<line x1="${px(p.x).toFixed(1)}" y1="${py(p.min).toFixed(1)}" x2="${px(p.x).toFixed(1)}" y2="${py(p.max).toFixed(1)}" stroke="${s.color}" stroke-opacity="0.5"/>`)
      }
    }
    const ly = T + 8 + i * 18
    out.push(`<line x1="${L + 12}" y1="${ly}" x2="${L + 36}" y2="${ly}" stroke="${s.color}" stroke-width="3"/><text x="${L + 42}" y="${ly + 4}">${esc(s.name)}</text>`)
  })
  out.push("</svg>")
  return out.join("\n") + "\n"
}
