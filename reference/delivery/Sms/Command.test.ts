import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { parseSmsCommand, serviceDateOf } from "./Command.js"

const maxCount = 5

const problemOf = (text: string) => {
  const parsed = parseSmsCommand(text, maxCount)
  assert.equal(parsed.ok, false, `"${text}" should not parse`)
  return parsed.ok ? "" : parsed.problem
}

describe("SMS command parser", () => {
  test("BUY with and without a count, any case and spacing", () => {
    assert.deepEqual(parseSmsCommand("BUY G1 20270128 BJP-SHH 2", maxCount), {
      ok: true, command: { _tag: "Buy", trainCode: "G1", serviceDate: "2027-01-28", fromStation: "BJP", toStation: "SHH", count: 2 }
    })
    assert.deepEqual(parseSmsCommand("  buy  g1234 20270228   bjp-shh ", maxCount), {
      ok: true, command: { _tag: "Buy", trainCode: "G1234", serviceDate: "2027-02-28", fromStation: "BJP", toStation: "SHH", count: 1 }
    })
    assert.deepEqual(parseSmsCommand("订票 D5 20270101 TJP-BJP 5", maxCount), {
      ok: true, command: { _tag: "Buy", trainCode: "D5", serviceDate: "2027-01-01", fromStation: "TJP", toStation: "BJP", count: 5 }
    })
  })

  test("BUY refusals name what was wrong", () => {
    assert.match(problemOf("BUY G1 20270128"), /BUY needs/)
    assert.match(problemOf("BUY G1 20270230 BJP-SHH"), /"20270230" is not a date/)
    assert.match(problemOf("BUY G1 2027-01-28 BJP-SHH"), /is not a date/)
    assert.match(problemOf("BUY 1G 20270128 BJP-SHH"), /"1G" is not a train code/)
    assert.match(problemOf("BUY G1 20270128 BJPSHH"), /is not a journey/)
    assert.match(problemOf("BUY G1 20270128 BJ-SHH"), /is not a journey/)
    assert.match(problemOf("BUY G1 20270128 BJP-BJP"), /starts and ends at BJP/)
    assert.match(problemOf("BUY G1 20270128 BJP-SHH 0"), /count must be a whole number from 1 to 5, got "0"/)
    assert.match(problemOf("BUY G1 20270128 BJP-SHH 6"), /from 1 to 5/)
    assert.match(problemOf("BUY G1 20270128 BJP-SHH two"), /from 1 to 5/)
    assert.match(problemOf("BUY G1 20270128 BJP-SHH 1.5"), /from 1 to 5/)
  })

  test("PAY, CANCEL and STATUS", () => {
    assert.deepEqual(parseSmsCommand("pay 012345 246810", maxCount), { ok: true, command: { _tag: "Pay", ref: "012345", paymentPassword: "246810" } })
    assert.deepEqual(parseSmsCommand("CANCEL 999999", maxCount), { ok: true, command: { _tag: "Cancel", ref: "999999" } })
    assert.deepEqual(parseSmsCommand("status", maxCount), { ok: true, command: { _tag: "Status", ref: undefined } })
    assert.deepEqual(parseSmsCommand("QUERY 123456", maxCount), { ok: true, command: { _tag: "Status", ref: "123456" } })
    assert.match(problemOf("PAY 123456"), /PAY needs/)
    assert.match(problemOf("PAY 12345 246810"), /"12345" is not an order reference/)
    assert.match(problemOf("PAY 123456 24681"), /payment password is 6 digits/)
    assert.match(problemOf("CANCEL"), /CANCEL needs/)
    assert.match(problemOf("STATUS 1 2"), /at most one/)
  })

  test("empty and unknown texts get the usage", () => {
    assert.match(problemOf("   "), /empty.*Commands: BUY/)
    assert.match(problemOf("HELLO there"), /unknown command "HELLO".*Commands: BUY/)
  })

  test("calendar dates are real dates", () => {
    assert.equal(serviceDateOf("20280229"), "2028-02-29")
    assert.equal(serviceDateOf("20270229"), undefined)
    assert.equal(serviceDateOf("20271301"), undefined)
    assert.equal(serviceDateOf("2027011"), undefined)
  })
})
