/**
 * Ordering by SMS over real HTTP (seed 002): an SMS gateway device delivers texts from phone numbers;
 * BUY holds seats and answers the order for confirmation, PAY pays it from the wallet and the tickets are
 * announced by SMS, CANCEL gives the seats back, STATUS reports; anything else is answered with what was wrong.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import type { PhoneNumber } from "../Domain.js"
import { notRegisteredReply } from "./Sms.js"
import { newSmsGateway, newTicketMachine, textsTo, topUp } from "../testing/Delivery.js"
import type { TestDevice } from "../testing/Delivery.js"
import { createRun, freshPhone, newCustomer, rawRequest, startTestServer, storeQuery, tagOf, withTestServer } from "../testing/TestServer.js"
import type { TestCustomer, TestRun, TestServer } from "../testing/TestServer.js"

describe("SMS ordering", () => {
  let server: TestServer
  let gateway: TestDevice
  let run: TestRun
  let messages = 0

  before(async () => {
    server = await startTestServer()
    gateway = await server.run(newSmsGateway(server.baseUrl, "sms-gw-1"))
    run = await server.run(createRun(server.baseUrl, { trainCode: "G1", stations: ["BJP", "TJP", "SHH"], seatCount: 10 }))
  })
  after(() => server.close())

  const text = (from: string, body: string, messageId = `m-${++messages}`) =>
    server.run(gateway.client.sms.receive({ payload: { messageId, from: from as PhoneNumber, text: body } }))
  const compactDate = () => run.serviceDate.replaceAll("-", "")
  const refOf = (reply: string) => {
    const match = /order (\d{6})/.exec(reply)
    assert.ok(match, `no order reference in "${reply}"`)
    return match[1]!
  }
  const liveOrdersOf = (customer: TestCustomer) => server.run(storeQuery<{ id: string; state: string }>(
    "SELECT id, state FROM orders WHERE customer_id = ? ORDER BY id", customer.customerId))

  test("an unknown sender is told to register, and the reply is queued for the gateway to send", async () => {
    const stranger = freshPhone()
    const answered = await text(stranger, `BUY G1 ${compactDate()} BJP-SHH`)
    assert.equal(answered.reply, notRegisteredReply)
    const sent = await server.run(textsTo(stranger))
    assert.deepEqual(sent.map((row) => [Number(row.id), row.text, row.purpose]), [[answered.replyOutboundId, notRegisteredReply, "reply"]])
    const page = await server.run(gateway.client.sms.outbound({ urlParams: { afterId: answered.replyOutboundId - 1 } }))
    assert.equal(page.texts[0]?.to, stranger)
    assert.equal(page.nextAfterId, page.texts.at(-1)?.id)
  })

  test("BUY 2 holds two seats and answers order IDs, seats, total, how to pay and the expiry; PAY issues and announces both", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const bought = await text(customer.phone, `buy g1 ${compactDate()} bjp-shh 2`)
    const ref = refOf(bought.reply)
    const held = await liveOrdersOf(customer)
    assert.equal(held.length, 2)
    assert.ok(held.every((order) => order.state === "held"))
    for (const order of held) assert.ok(bought.reply.includes(order.id), `reply names ${order.id}: ${bought.reply}`)
    assert.match(bought.reply, /seat 1-01A/)
    assert.match(bought.reply, /seat 1-01B/)
    assert.match(bought.reply, new RegExp(`Total ${(4 * run.fareFenPerSegment / 100).toFixed(2)} yuan`))
    assert.match(bought.reply, new RegExp(`text PAY ${ref} <payment password> before \\d\\d:\\d\\d`))

    const poor = await text(customer.phone, `PAY ${ref} ${customer.paymentPassword}`)
    assert.match(poor.reply, /not fully paid: your wallet holds 0.00 yuan, 250.00 needed\. Nothing was paid/)

    await server.run(topUp(customer, 4 * run.fareFenPerSegment))
    const wrong = await text(customer.phone, `PAY ${ref} 000000`)
    assert.match(wrong.reply, /wrong payment password \(4 tries left\)\. Nothing was paid/)
    assert.deepEqual((await liveOrdersOf(customer)).map((order) => order.state), ["held", "held"])

    const paid = await text(customer.phone, `PAY ${ref} ${customer.paymentPassword}`)
    assert.match(paid.reply, new RegExp(`order ${ref} is paid: 2 ticket\\(s\\), 500.00 yuan`))
    assert.deepEqual((await liveOrdersOf(customer)).map((order) => order.state), ["issued", "issued"])
    const wallet = await server.run(customer.client.accounts.getWallet())
    assert.equal(wallet.balanceFen, 0)
    const notices = (await server.run(textsTo(customer.phone))).filter((row) => row.purpose === "ticket-notice")
    assert.equal(notices.length, 2)
    for (const notice of notices) assert.match(notice.text, /ticket [0-9a-f]{20} issued\. G1 .* BJP-SHH, coach 1 seat 01[AB]/)

    const status = await text(customer.phone, `STATUS ${ref}`)
    assert.match(status.reply, new RegExp(`${ref} G1 ${run.serviceDate} BJP-SHH: 1-01A issued, 1-01B issued`))
    // paying again changes nothing
    const again = await text(customer.phone, `PAY ${ref} ${customer.paymentPassword}`)
    assert.match(again.reply, /is paid/)
    assert.equal((await server.run(customer.client.accounts.getWallet())).balanceFen, 0)
  })

  test("CANCEL gives held seats back; STATUS without a reference lists recent orders", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const seatsBefore = await server.run(storeQuery<{ free: number }>(
      "SELECT COUNT(*) AS free FROM seats WHERE run_id = ? AND occupied_mask = 0", run.runId))
    const ref = refOf((await text(customer.phone, `BUY G1 ${compactDate()} TJP-SHH 3`)).reply)
    const cancelled = await text(customer.phone, `CANCEL ${ref}`)
    assert.match(cancelled.reply, new RegExp(`order ${ref}: 3 held ticket\\(s\\) cancelled\\.$`))
    assert.deepEqual((await liveOrdersOf(customer)).map((order) => order.state), ["cancelled", "cancelled", "cancelled"])
    const seatsAfter = await server.run(storeQuery<{ free: number }>(
      "SELECT COUNT(*) AS free FROM seats WHERE run_id = ? AND occupied_mask = 0", run.runId))
    assert.equal(Number(seatsAfter[0]?.free), Number(seatsBefore[0]?.free))
    const listed = await text(customer.phone, "status")
    assert.match(listed.reply, new RegExp(`${ref} G1 ${run.serviceDate} TJP-SHH: 1-\\w+ cancelled`))
    assert.match((await text(customer.phone, "STATUS 000000")).reply, /no SMS order 000000/)
  })

  test("a BUY that cannot be held whole holds nothing", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const small = await server.run(createRun(server.baseUrl, { trainCode: "K7", stations: ["AAA", "BBB"], seatCount: 1 }))
    const answered = await text(customer.phone, `BUY K7 ${small.serviceDate.replaceAll("-", "")} AAA-BBB 2`)
    assert.match(answered.reply, /fewer than 2 free seats\. Nothing was held/)
    assert.deepEqual((await liveOrdersOf(customer)).map((order) => order.state), ["cancelled"])
    assert.match((await text(customer.phone, `BUY K7 20270101 AAA-BBB`)).reply, /there is no train K7 on 2027-01-01/)
    assert.match((await text(customer.phone, `BUY K7 ${small.serviceDate.replaceAll("-", "")} BBB-AAA`)).reply, /BBB is not before AAA/)
  })

  test("texts that do not parse are answered with what was wrong, never an error status", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    for (const [body, problem] of [
      ["hello", /unknown command "hello"/],
      ["", /the message is empty/],
      [`BUY G1 ${compactDate()} BJP-SHH 6`, /count must be a whole number from 1 to 5/],
      ["BUY G1 20270230 BJP-SHH", /"20270230" is not a date/],
      ["PAY 12 246810", /"12" is not an order reference/],
      ["x".repeat(161), /it has 161 characters, at most 160/]
    ] as const) {
      const raw = await rawRequest(server.baseUrl, "POST", "/sms/inbound", {
        headers: { "x-device-key": gateway.deviceKey }, body: { messageId: `bad-${++messages}`, from: customer.phone, text: body }
      })
      assert.equal(raw.status, 200, raw.text)
      assert.match(String((raw.json as { reply: string }).reply), problem)
    }
    assert.equal((await liveOrdersOf(customer)).length, 0)
  })

  test("a retried delivery of one text gets the stored reply and holds once; the ID with another text is refused", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const body = `BUY G1 ${compactDate()} BJP-TJP`
    const first = await text(customer.phone, body, "retry-1")
    const second = await text(customer.phone, body, "retry-1")
    assert.deepEqual(second, first)
    assert.equal((await liveOrdersOf(customer)).length, 1)
    const replies = (await server.run(textsTo(customer.phone))).filter((row) => row.purpose === "reply")
    assert.equal(replies.length, 1)
    const reused = await rawRequest(server.baseUrl, "POST", "/sms/inbound", {
      headers: { "x-device-key": gateway.deviceKey }, body: { messageId: "retry-1", from: customer.phone, text: "STATUS" }
    })
    assert.equal(reused.status, 409)
    assert.equal(tagOf(reused.json), "SmsMessageIdReused")
  })

  test("one text delivered five times at once holds once; each delivery gets the reply or is told to retry", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const body = { messageId: "burst-1", from: customer.phone, text: `BUY G1 ${compactDate()} TJP-SHH` }
    const outcomes = await Promise.all(Array.from({ length: 5 }, () =>
      rawRequest(server.baseUrl, "POST", "/sms/inbound", { headers: { "x-device-key": gateway.deviceKey }, body })))
    for (const outcome of outcomes) {
      assert.ok(outcome.status === 200 || (outcome.status === 409 && tagOf(outcome.json) === "SmsInboundInProgress"), outcome.text)
    }
    const replies = new Set(outcomes.filter((outcome) => outcome.status === 200).map((outcome) => (outcome.json as { reply: string }).reply))
    assert.ok(replies.size === 1, [...replies].join(" | "))
    assert.equal((await liveOrdersOf(customer)).length, 1)
    const settled = await text(customer.phone, body.text, "burst-1")
    assert.ok(replies.has(settled.reply))
  })

  test("a text claimed by a server that died is answered by a retry once the claim is stale, not before", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const nowMs = Date.now()
    await server.run(storeQuery(`INSERT INTO sms_inbound (gateway_id, message_id, from_phone, text, received_at_ms) VALUES
      (?, 'died-long-ago', ?, 'STATUS', ?), (?, 'dying-now', ?, 'STATUS', ?)`,
      gateway.id, customer.phone, nowMs - server.settings.smsInboundClaimTimeoutMs - 1_000, gateway.id, customer.phone, nowMs))
    const answered = await text(customer.phone, "STATUS", "died-long-ago")
    assert.equal(answered.reply, "Chunyun: you have no SMS orders.")
    assert.deepEqual(await text(customer.phone, "STATUS", "died-long-ago"), answered)
    const busy = await rawRequest(server.baseUrl, "POST", "/sms/inbound", {
      headers: { "x-device-key": gateway.deviceKey }, body: { messageId: "dying-now", from: customer.phone, text: "STATUS" }
    })
    assert.equal(busy.status, 409)
    assert.equal(tagOf(busy.json), "SmsInboundInProgress")
  })

  test("a PAY the phone sends again (each a new text with its own message ID, even several at once) pays once", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    await server.run(topUp(customer, 10 * run.fareFenPerSegment))
    const ref = refOf((await text(customer.phone, `BUY G1 ${compactDate()} TJP-SHH`)).reply)
    const pay = `PAY ${ref} ${customer.paymentPassword}`
    // the answer to the first PAY was lost: the phone sends it again, and again while the second is in flight
    const answers = await Promise.all(Array.from({ length: 4 }, () => text(customer.phone, pay)))
    for (const answered of answers) assert.match(answered.reply, new RegExp(`order ${ref} is paid: 1 ticket\\(s\\), 125.00 yuan`))
    assert.match((await text(customer.phone, pay)).reply, /is paid/)
    const payments = await server.run(storeQuery<{ order_id: string; count: number; total: number }>(`SELECT t.order_id, COUNT(*) AS count,
      SUM(t.amount_fen) AS total FROM transfers t JOIN orders o ON o.id = t.order_id
      WHERE o.customer_id = ? AND t.purpose = 'order-payment' GROUP BY t.order_id`, customer.customerId))
    assert.deepEqual(payments.map((row) => [Number(row.count), Number(row.total)]), [[1, run.fareFenPerSegment]])
    assert.equal((await server.run(customer.client.accounts.getWallet())).balanceFen, 9 * run.fareFenPerSegment)
    const notices = (await server.run(textsTo(customer.phone))).filter((row) => row.purpose === "ticket-notice")
    assert.equal(notices.length, 1)
  })

  test("only a registered SMS gateway's key delivers texts; malformed senders are refused with 400", async () => {
    const machine = await server.run(newTicketMachine(server.baseUrl, "cinema-1", "Wanda CBD"))
    const body = { messageId: "auth-1", from: freshPhone(), text: "STATUS" }
    for (const headers of [{}, { "x-device-key": "not-a-key" }, { "x-device-key": machine.deviceKey }]) {
      const refused = await rawRequest(server.baseUrl, "POST", "/sms/inbound", { headers, body })
      assert.equal(refused.status, 401)
      assert.equal(tagOf(refused.json), "Unauthorized")
    }
    const badSender = await rawRequest(server.baseUrl, "POST", "/sms/inbound", {
      headers: { "x-device-key": gateway.deviceKey }, body: { ...body, from: "+86 139" }
    })
    assert.equal(badSender.status, 400)
    for (const query of ["afterId=abc", "afterId=-1", "limit=0", "limit=1001"]) {
      const badPage = await rawRequest(server.baseUrl, "GET", `/sms/outbound?${query}`, { headers: { "x-device-key": gateway.deviceKey } })
      assert.equal(badPage.status, 400, query)
      assert.equal(tagOf(badPage.json), "HttpApiDecodeError")
    }
    const unused = await server.run(storeQuery<{ count: number }>("SELECT COUNT(*) AS count FROM sms_inbound WHERE message_id = 'auth-1'"))
    assert.equal(Number(unused[0]?.count), 0)
  })
})

describe("a BUY sent again (a new text, its answer lost)", () => {
  let server: TestServer
  let gateway: TestDevice
  let run: TestRun
  let messages = 0

  before(async () => {
    server = await startTestServer()
    gateway = await server.run(newSmsGateway(server.baseUrl, "sms-gw-again"))
    run = await server.run(createRun(server.baseUrl, { trainCode: "G5", stations: ["BJP", "TJP", "SHH"], seatCount: 20 }))
  })
  after(() => server.close())

  const text = (from: string, body: string) =>
    server.run(gateway.client.sms.receive({ payload: { messageId: `again-${++messages}`, from: from as PhoneNumber, text: body } }))
  const buyText = (journey: string, count = "") => `BUY G5 ${run.serviceDate.replaceAll("-", "")} ${journey}${count === "" ? "" : ` ${count}`}`
  const refOf = (reply: string) => {
    const match = /^Chunyun order (\d{6}):/.exec(reply)
    assert.ok(match, `no order in "${reply}"`)
    return match[1]!
  }
  const ordersOf = (customer: TestCustomer) => server.run(storeQuery<{ id: string; state: string }>(
    "SELECT id, state FROM orders WHERE customer_id = ? ORDER BY held_at_ms, id", customer.customerId))

  test("while its order is held, the same BUY is answered with that order and holds nothing; another journey or count is another order", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const first = await text(customer.phone, buyText("BJP-SHH", "2"))
    const ref = refOf(first.reply)
    const again = await text(customer.phone, buyText("bjp-shh", "2"))
    assert.notEqual(again.replyOutboundId, first.replyOutboundId)
    assert.equal(again.reply, first.reply)
    assert.deepEqual((await ordersOf(customer)).map((order) => order.state), ["held", "held"])
    // the answer is sent again: the phone whose first answer was lost gets it now
    const replies = (await server.run(textsTo(customer.phone))).filter((row) => row.purpose === "reply").map((row) => row.text)
    assert.deepEqual(replies, [first.reply, first.reply])

    const single = await text(customer.phone, buyText("BJP-SHH"))
    const other = await text(customer.phone, buyText("BJP-TJP", "2"))
    assert.equal(new Set([ref, refOf(single.reply), refOf(other.reply)]).size, 3)
    assert.equal((await ordersOf(customer)).length, 5)
    const status = await text(customer.phone, `STATUS ${ref}`)
    assert.match(status.reply, new RegExp(`${ref} G5 ${run.serviceDate} BJP-SHH: 1-\\w+ held until \\d\\d:\\d\\d, 1-\\w+ held`))
  })

  test("once its order was paid, cancelled or has expired, the same BUY is a new order", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    await server.run(topUp(customer, run.fareFenPerSegment))
    const paidRef = refOf((await text(customer.phone, buyText("TJP-SHH"))).reply)
    assert.match((await text(customer.phone, `PAY ${paidRef} ${customer.paymentPassword}`)).reply, /is paid/)
    const afterPaid = refOf((await text(customer.phone, buyText("TJP-SHH"))).reply)
    assert.notEqual(afterPaid, paidRef)

    assert.match((await text(customer.phone, `CANCEL ${afterPaid}`)).reply, /1 held ticket\(s\) cancelled/)
    const afterCancel = refOf((await text(customer.phone, buyText("TJP-SHH"))).reply)
    assert.notEqual(afterCancel, afterPaid)

    // the hold ran out and no sweeper has passed yet: it awaits nothing, so the BUY holds afresh
    await server.run(storeQuery("UPDATE orders SET hold_expires_at_ms = ? WHERE customer_id = ? AND state = 'held'",
      Date.now() - 1, customer.customerId))
    const afterExpiry = refOf((await text(customer.phone, buyText("TJP-SHH"))).reply)
    assert.notEqual(afterExpiry, afterCancel)
    const rows = await server.run(storeQuery<{ ref: string; state: string }>(`SELECT i.ref, o.state FROM sms_order_items i
      JOIN orders o ON o.id = i.order_id WHERE i.customer_id = ?`, customer.customerId))
    const stateOf = new Map(rows.map((row) => [row.ref, row.state]))
    assert.equal(rows.length, 4)
    assert.equal(stateOf.get(paidRef), "issued")
    assert.equal(stateOf.get(afterPaid), "cancelled")
    // held past its expiry until the sweeper passes
    assert.ok(["held", "expired"].includes(stateOf.get(afterCancel)!), stateOf.get(afterCancel))
    assert.equal(stateOf.get(afterExpiry), "held")
  })

  test("two copies of a BUY handled at once hold once, and both are answered with its order", async () => {
    for (const count of ["", "3"]) {
      const customer = await server.run(newCustomer(server.baseUrl))
      const answers = await Promise.all(Array.from({ length: 2 }, () => text(customer.phone, buyText("BJP-TJP", count))))
      const held = await ordersOf(customer)
      assert.equal(held.length, count === "" ? 1 : 3, answers.map((answer) => answer.reply).join(" | "))
      assert.ok(held.every((order) => order.state === "held"))
      refOf(answers[0]!.reply)
      assert.equal(answers[1]!.reply, answers[0]!.reply)
    }
    const customer = await server.run(newCustomer(server.baseUrl))
    const burst = await Promise.all(Array.from({ length: 5 }, () => text(customer.phone, buyText("TJP-SHH"))))
    assert.equal((await ordersOf(customer)).length, 1)
    assert.equal(new Set(burst.map((answer) => refOf(answer.reply))).size, 1)
  })

  test("a BUY claimed by a copy that was refused is held by the copy waiting for it; a claim left by a server that died is taken over", async () => {
    const customer = await server.run(newCustomer(server.baseUrl))
    const claim = (journey: [string, string], claimedAtMs: number) => server.run(storeQuery(`INSERT INTO sms_buy_requests
      (customer_id, run_id, from_station, to_station, ticket_count, claimed_at_ms) VALUES (?, ?, ?, ?, 1, ?)`,
      customer.customerId, run.runId, journey[0], journey[1], claimedAtMs))
    await claim(["BJP", "TJP"], Date.now())
    const waiting = text(customer.phone, buyText("BJP-TJP"))
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal((await ordersOf(customer)).length, 0, "the copy waits while the claim is another's")
    await server.run(storeQuery("DELETE FROM sms_buy_requests WHERE customer_id = ?", customer.customerId))
    refOf((await waiting).reply)
    assert.equal((await ordersOf(customer)).length, 1)

    await claim(["TJP", "SHH"], Date.now() - server.settings.smsBuyClaimTimeoutMs - 1_000)
    const takenOver = refOf((await text(customer.phone, buyText("TJP-SHH"))).reply)
    assert.equal((await ordersOf(customer)).length, 2)
    assert.match((await text(customer.phone, buyText("TJP-SHH"))).reply, new RegExp(`^Chunyun order ${takenOver}:`))
  })

  test("a copy still waiting when the wait runs out is told the order follows, and holds nothing", async () => {
    await withTestServer({ maxSmsBuyWaitMs: 200 }, async (small) => {
      const smallGateway = await small.run(newSmsGateway(small.baseUrl, "sms-gw-small"))
      const smallRun = await small.run(createRun(small.baseUrl, { trainCode: "G7", stations: ["BJP", "SHH"], seatCount: 2 }))
      const customer = await small.run(newCustomer(small.baseUrl))
      await small.run(storeQuery(`INSERT INTO sms_buy_requests
        (customer_id, run_id, from_station, to_station, ticket_count, claimed_at_ms) VALUES (?, ?, 'BJP', 'SHH', 1, ?)`,
        customer.customerId, smallRun.runId, Date.now()))
      const answered = await small.run(smallGateway.client.sms.receive({
        payload: { messageId: "busy-1", from: customer.phone, text: `BUY G7 ${smallRun.serviceDate.replaceAll("-", "")} BJP-SHH` }
      }))
      assert.equal(answered.reply,
        `Chunyun: your BUY G7 ${smallRun.serviceDate} BJP-SHH is still being handled; its order follows by SMS. Text STATUS if it does not come.`)
      const orders = await small.run(storeQuery("SELECT id FROM orders WHERE customer_id = ?", customer.customerId))
      assert.equal(orders.length, 0)
    })
  })
})
