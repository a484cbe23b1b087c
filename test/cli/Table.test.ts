import { describe, expect, it } from "vitest"
import stringWidth from "string-width"
import { clip, render } from "../../src/cli/Table.js"

describe("Table.render", () => {
  it("aligns columns holding CJK text and emoji by their width on screen", () => {
    const table = render([
      { name: "acme", plan: "pro", spans: 3 },
      { name: "株式会社テスト", plan: "エンタープライズ", spans: 12 },
      { name: "🚀🚀 rocket", plan: "👩‍💻", spans: 1234 }
    ])
    // Each CJK character and emoji takes two columns: the padding after them counts that.
    expect(table).toBe([
      "name            plan              spans",
      "--------------  ----------------  -----",
      "acme            pro                   3",
      "株式会社テスト  エンタープライズ     12",
      "🚀🚀 rocket     👩‍💻                 1234"
    ].join("\n"))
    expect(table.split("\n").map((line) => stringWidth(line))).toEqual([39, 39, 39, 39, 39])
  })
})

describe("Table.clip", () => {
  it("cuts by width on screen, never inside an emoji or a surrogate pair", () => {
    expect(stringWidth(clip("漢".repeat(40), 10))).toBeLessThanOrEqual(10)
    expect(clip("漢".repeat(40), 10)).toBe(`${"漢".repeat(4)}…`)
    const emoji = clip("👩‍💻".repeat(10), 7)
    expect(emoji).toBe(`${"👩‍💻".repeat(3)}…`)
    expect(emoji.isWellFormed()).toBe(true)
    expect(clip("short", 10)).toBe("short")
    expect(clip("a\nb\tc", 10)).toBe("a b c")
  })
})
