/**
 * The matrix as text and HTML: a row measured under outside load is marked and warned about, every row shows
 * its outside load, and a broken row's witness and replay lines are shown — escaped in the page.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { sampleMatrixRow } from "./fixture.js"
import type { Matrix } from "./matrix.js"
import { loadedMarker, renderMatrixHtml, renderMatrixSummary } from "./matrixHtml.js"

const row = sampleMatrixRow

const matrix: Matrix = {
  scenario: "spring-festival", seed: 42, mode: "real", passengers: 2_000, startedAt: "2026-11-25T09:43:24.000Z", codeVersion: "abc1234",
  axes: [{ key: "inventory", values: ["conditional", "queue", "unsafe"] }], maxOutsideCpuShare: 0.1, notes: ["a note"],
  rows: [
    row("inventory=conditional", { outsideCpuShare: 0.007, best: ["ticketsIssued"] }),
    row("inventory=queue", { outsideCpuShare: 0.452, underOutsideLoad: true }),
    row("inventory=unsafe", {
      invariantViolations: 2,
      witness: ["no-double-booking: seat 2: order <O1> overlaps order O2"],
      replay: ["npx chunyun replay 'out/m/unsafe/history.jsonl' --actor phone-1 --actor phone-2"]
    })
  ]
}

describe("the matrix rendered", () => {
  test("text: the loaded row marked and warned about, each row's outside load, the broken row's witness and replay", () => {
    const text = renderMatrixSummary(matrix)
    assert.match(text, new RegExp(`inventory=queue ${loadedMarker.replace(/[()]/g, "\\$&")}\\s+real`))
    assert.match(text, /0\.7 %/)
    assert.match(text, /45\.2 %/)
    assert.match(text, /warning: 1 of 3 rows \(loaded\) ran while other work kept more than 10\.0 % of the machine busy/)
    assert.match(text, /inventory=unsafe: 2 violation\(s\)\n {2}no-double-booking: seat 2/)
    assert.match(text, /\n {2}replay: npx chunyun replay 'out\/m\/unsafe\/history\.jsonl' --actor phone-1 --actor phone-2/)
  })

  test("HTML: the loaded row greyed with its marker, the warning, the replay lines escaped; a quiet matrix warns of nothing", () => {
    const html = renderMatrixHtml(matrix)
    assert.match(html, /<tr class="loaded"><td><a href="inventory=queue\/report\.html"><code>inventory=queue \(loaded\)<\/code>/)
    assert.match(html, /<tr class="violated">/)
    assert.match(html, /<p class="warning">1 of 3 rows \(loaded\)/)
    assert.match(html, /order &lt;O1&gt; overlaps/)
    assert.match(html, /npx chunyun replay &#39;out\/m\/unsafe\/history\.jsonl&#39; --actor phone-1/)
    assert.doesNotMatch(html, /<O1>/)
    const quiet = renderMatrixHtml({ ...matrix, rows: matrix.rows.filter((candidate) => !candidate.underOutsideLoad) })
    assert.doesNotMatch(quiet, /class="warning"/)
    assert.doesNotMatch(renderMatrixSummary({ ...matrix, rows: [matrix.rows[0]!] }), /warning:/)
  })
})
