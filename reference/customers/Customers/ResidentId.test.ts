import assert from "node:assert/strict"
import { describe, test } from "node:test"
import * as fc from "fast-check"
import { ageBandOf, checkCharacterOf, checkResidentId, makeResidentId } from "./ResidentId.js"

const today = "2027-01-28"

describe("resident ID (GB 11643)", () => {
  test("the standard's own example number passes, with its facts", () => {
    // the worked example of GB 11643-1999 appendix: 11010519491231002X
    const checked = checkResidentId("11010519491231002X", today)
    assert.deepEqual(checked, { ok: true, facts: { province: "Beijing", birthDate: "1949-12-31", sex: "female" } })
    assert.equal(checkCharacterOf("11010519491231002"), "X")
  })

  test("every single-digit change of a valid number is refused", () => {
    const valid = makeResidentId("440305", "19900715", "123")
    assert.equal(checkResidentId(valid, today).ok, true)
    for (let index = 0; index < 18; index++) {
      for (const digit of "0123456789X") {
        if (digit === valid[index] || (digit === "X" && index < 17)) continue
        const changed = valid.slice(0, index) + digit + valid.slice(index + 1)
        assert.equal(checkResidentId(changed, today).ok, false, changed)
      }
    }
  })

  test("each problem is named", () => {
    const problem = (text: string) => { const result = checkResidentId(text, today); return result.ok ? "ok" : result.problem }
    assert.match(problem("1101051949123100"), /17 digits/)
    assert.match(problem("11010519491231002x"), /17 digits/)
    assert.match(problem(makeResidentId("990105", "19491231", "002")), /not in a known province/)
    assert.match(problem(makeResidentId("110105", "19490231", "002")), /not a real date/)
    assert.match(problem(makeResidentId("110105", "20270129", "002")), /not a real date/)
    assert.match(problem(makeResidentId("110105", "18991231", "002")), /not a real date/)
    assert.match(problem("110105194912310021"), /check digit/)
  })

  test("property: numbers made from valid parts pass, and their check digit is the only one that does", () => {
    fc.assert(fc.property(
      fc.constantFrom("110101", "310115", "440305", "510107", "820000"),
      fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2027-01-28T00:00:00Z"), noInvalidDate: true }),
      fc.integer({ min: 0, max: 999 }),
      (region, birth, sequence) => {
        const yyyymmdd = birth.toISOString().slice(0, 10).replaceAll("-", "")
        const id = makeResidentId(region, yyyymmdd, String(sequence).padStart(3, "0"))
        assert.equal(checkResidentId(id, today).ok, true, id)
        for (const other of "0123456789X") if (other !== id[17]) assert.equal(checkResidentId(id.slice(0, 17) + other, today).ok, false)
      }
    ))
  })

  test("age bands, birthday not yet reached this year counts the year before", () => {
    assert.equal(ageBandOf("2009-01-29", today), "under-18")
    assert.equal(ageBandOf("2009-01-28", today), "18-29")
    assert.equal(ageBandOf("1967-06-01", today), "45-59")
    assert.equal(ageBandOf("1940-01-01", today), "60+")
  })
})
