/** The refund fee schedule: tier boundaries, rounding to 5 jiao half up, the minimum, the cap, departure. */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import fc from "fast-check"
import { FenTotal } from "../../Domain.js"
import { defaultLifecycleSettings } from "../../Settings/Lifecycle.js"
import { feeTierFor, refundFeeFen } from "./Fees.js"

const hourMs = 3_600_000
const dayMs = 24 * hourMs
const schedule = defaultLifecycleSettings

describe("refund fee tiers (12306 schedule)", () => {
  test("each boundary belongs to the cheaper tier above it", () => {
    const price = 55_300 // 553.00 yuan
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 8 * dayMs), 0)
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 8 * dayMs - 1), 2_750) // 5 % = 27.65 → 27.50
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 48 * hourMs), 2_750)
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 48 * hourMs - 1), 5_550) // 10 % = 55.30 → 55.50
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 24 * hourMs), 5_550)
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 24 * hourMs - 1), 11_050) // 20 % = 110.60 → 110.50
    assert.equal(refundFeeFen(schedule, FenTotal.make(price), 1), 11_050)
  })

  test("no refund once the train has left", () => {
    assert.equal(refundFeeFen(schedule, FenTotal.make(10_000), 0), undefined)
    assert.equal(refundFeeFen(schedule, FenTotal.make(10_000), -5 * 60_000), undefined)
  })

  test("rounding to the nearest 50 fen, half up: .24 down, .25 up, .75 up", () => {
    // 5 % of 2 024 yuan 80 = 101.24 yuan → 101.00; of 2 025 yuan = 101.25 → 101.50; of 2 035 yuan = 101.75 → 102.00
    assert.equal(refundFeeFen(schedule, FenTotal.make(202_480), 3 * dayMs), 10_100)
    assert.equal(refundFeeFen(schedule, FenTotal.make(202_500), 3 * dayMs), 10_150)
    assert.equal(refundFeeFen(schedule, FenTotal.make(203_500), 3 * dayMs), 10_200)
  })

  test("a non-zero rate charges at least 2 yuan, and never more than the price", () => {
    assert.equal(refundFeeFen(schedule, FenTotal.make(1_000), 3 * dayMs), 200) // 5 % of 10 yuan = 0.50 → minimum 2 yuan
    assert.equal(refundFeeFen(schedule, FenTotal.make(150), hourMs), 150) // the minimum would exceed a 1.50 yuan fare
    assert.equal(refundFeeFen(schedule, FenTotal.make(1_000), 9 * dayMs), 0) // the free tier has no minimum
  })

  test("the tier is the one with the largest threshold not above the time left, in any listing order", () => {
    const shuffled = { ...schedule, refundFeeTiers: [...schedule.refundFeeTiers].reverse() }
    assert.equal(feeTierFor(shuffled, 30 * hourMs)?.feeBasisPoints, 1_000)
    assert.equal(refundFeeFen(shuffled, FenTotal.make(55_300), 30 * hourMs), 5_550)
  })

  test("property: 0 ≤ fee ≤ price, a multiple of 50 or the price or the minimum, and never less with less time left", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 100_000_000 }), fc.integer({ min: 1, max: 30 * dayMs }), fc.integer({ min: 1, max: 30 * dayMs }),
      (price, earlierMs, laterGapMs) => {
        const fee = refundFeeFen(schedule, FenTotal.make(price), earlierMs)!
        assert.ok(fee >= 0 && fee <= price)
        assert.ok(fee % 50 === 0 || fee === price || fee === schedule.minRefundFeeFen)
        const closer = refundFeeFen(schedule, FenTotal.make(price), Math.max(1, earlierMs - laterGapMs))!
        assert.ok(closer >= fee, `${closer} < ${fee}`)
      }
    ))
  })
})
