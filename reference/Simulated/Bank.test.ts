/**
 * The simulated bank on its own, on Effect's TestClock and a seeded Random: its latency passes on the
 * Clock (never the wall clock), its answers are reproducible for a seed, and hold / capture / reverse keep
 * the card's balance right.
 */
import assert from "node:assert/strict"
import { describe, test } from "node:test"
import { Effect, Either, Fiber, Option, Random, TestClock, TestContext } from "effect"
import { Fen, FenTotal } from "../Domain.js"
import { formatPinBlock } from "../payments/Payments/PinBlock.js"
import { SimulatedBank } from "./Bank.js"
import { SimulatedBankConfig } from "./Settings.js"
import type { SimulatedBankSettings } from "./Settings.js"

const pan = "6222020000000000018"
const pin = "135790"

const runBank = <A, E>(settings: Partial<SimulatedBankSettings>, seed: number, program: Effect.Effect<A, E, SimulatedBank>) =>
  Effect.runPromise(program.pipe(
    Effect.provide(SimulatedBank.Default),
    Effect.provide(SimulatedBankConfig.layer(settings)),
    Effect.withRandom(Random.make(seed)),
    Effect.provide(TestContext.TestContext)))

const authoriseOnce = (amountFen: number, pinBlock = formatPinBlock(pin, pan)) =>
  Effect.gen(function* () {
    const bank = yield* SimulatedBank
    const token = yield* bank.issueCard({ pan, pin, balanceFen: Fen.make(10_000) })
    const outcome = yield* Effect.either(bank.port.authorise({ cardToken: token, pinBlock, amountFen: FenTotal.make(amountFen), reference: "T0" }))
    return { bank, token, outcome }
  })

describe("simulated bank", () => {
  test("an authorisation answers after the latency plus jitter on the Clock, not before", async () => {
    const latencyMs = 800
    const jitterMs = 400
    await runBank({ simulatedBankLatencyMs: latencyMs, simulatedBankLatencyJitterMs: jitterMs }, 7, Effect.gen(function* () {
      const fiber = yield* Effect.fork(authoriseOnce(2_000))
      yield* TestClock.adjust(latencyMs - 1)
      assert.ok(Option.isNone(yield* Fiber.poll(fiber)), "answered before the latency passed")
      yield* TestClock.adjust(jitterMs + 1)
      const { outcome } = yield* Fiber.join(fiber)
      assert.ok(Either.isRight(outcome))
    }))
  })

  test("the same seed gives the same card token, authorisation ID and code", async () => {
    const answer = (seed: number) => runBank({}, seed, Effect.map(authoriseOnce(2_000), ({ token, outcome }) => ({ token, outcome: Either.getOrThrow(outcome) })))
    const [first, again, other] = [await answer(11), await answer(11), await answer(12)]
    assert.deepEqual(first, again)
    assert.notDeepEqual(first, other)
    assert.match(first.outcome.authCode, /^\d{6}$/)
  })

  test("hold, capture and reverse move the card's money once each; declines name their reason", async () => {
    await runBank({}, 3, Effect.gen(function* () {
      const { bank, token, outcome } = yield* authoriseOnce(2_000)
      const authorisation = Either.getOrThrow(outcome)
      assert.deepEqual(yield* bank.cardState(token), { balanceFen: 10_000, heldFen: 2_000, lost: false })
      yield* bank.port.capture(authorisation.authorisationId)
      yield* bank.port.capture(authorisation.authorisationId)
      assert.deepEqual(yield* bank.cardState(token), { balanceFen: 8_000, heldFen: 0, lost: false })
      yield* bank.port.reverse(authorisation.authorisationId)
      yield* bank.port.reverse(authorisation.authorisationId)
      assert.deepEqual(yield* bank.cardState(token), { balanceFen: 10_000, heldFen: 0, lost: false })

      const tooMuch = yield* Effect.flip(bank.port.authorise({ cardToken: token, pinBlock: formatPinBlock(pin, pan), amountFen: FenTotal.make(10_001), reference: "T1" }))
      assert.equal(tooMuch.reason, "insufficient-funds")
      const wrongPin = yield* Effect.flip(bank.port.authorise({ cardToken: token, pinBlock: formatPinBlock("135791", pan), amountFen: FenTotal.make(1), reference: "T2" }))
      assert.equal(wrongPin.reason, "wrong-pin")
      const garbage = yield* Effect.flip(bank.port.authorise({ cardToken: token, pinBlock: "FFFFFFFFFFFFFFFF", amountFen: FenTotal.make(1), reference: "T3" }))
      assert.equal(garbage.reason, "invalid-pin-block")
      yield* bank.reportLost(token)
      const lost = yield* Effect.flip(bank.port.authorise({ cardToken: token, pinBlock: formatPinBlock(pin, pan), amountFen: FenTotal.make(1), reference: "T4" }))
      assert.equal(lost.reason, "lost-card")
    }))
  })

  test("a card is blocked after simulatedBankMaxWrongPins wrong PINs, also against concurrent tries: the right PIN is then declined", async () => {
    const maxWrongPins = 3
    const tries = 30
    const rightPinAt = 20
    await runBank({ simulatedBankMaxWrongPins: maxWrongPins, simulatedBankLatencyMs: 50 }, 5, Effect.gen(function* () {
      const bank = yield* SimulatedBank
      const authorise = (token: Parameters<typeof bank.port.authorise>[0]["cardToken"], tryPin: string, reference: string) =>
        Effect.either(bank.port.authorise({ cardToken: token, pinBlock: formatPinBlock(tryPin, pan), amountFen: FenTotal.make(1_000), reference }))

      // one at a time: the wrong ones count, the right one after them is refused
      const card = yield* bank.issueCard({ pan, pin, balanceFen: Fen.make(10_000) })
      const wrongs: Array<string> = []
      for (let index = 0; index < tries; index++) {
        const fiber = yield* Effect.fork(authorise(card, "000000", `W${index}`))
        yield* TestClock.adjust(50)
        const outcome = yield* Fiber.join(fiber)
        wrongs.push(Either.isLeft(outcome) ? outcome.left.reason : "authorised")
      }
      assert.deepEqual(wrongs.filter((reason) => reason === "wrong-pin").length, maxWrongPins)
      const afterWrongs = yield* Effect.fork(authorise(card, pin, "R"))
      yield* TestClock.adjust(50)
      const right = yield* Fiber.join(afterWrongs)
      assert.equal(Either.isLeft(right) && right.left.reason, "pin-tries-exceeded", "the right PIN after the wrong ones was not declined as blocked")

      // all at once, the right PIN late among wrong ones
      const raced = yield* bank.issueCard({ pan, pin, balanceFen: Fen.make(10_000) })
      const burst = yield* Effect.fork(Effect.all(
        Array.from({ length: tries }, (_, index) => authorise(raced, index === rightPinAt ? pin : "000000", `B${index}`)),
        { concurrency: "unbounded" }))
      yield* TestClock.adjust(50)
      const outcomes = (yield* Fiber.join(burst)).map((outcome) => Either.isLeft(outcome) ? outcome.left.reason : "authorised")
      assert.equal(outcomes.filter((reason) => reason === "wrong-pin").length, maxWrongPins)
      assert.equal(outcomes[rightPinAt], "pin-tries-exceeded")
      assert.deepEqual(yield* bank.cardState(raced), { balanceFen: 10_000, heldFen: 0, lost: false })
    }))
  })

  test("a right PIN before the limit clears the count of wrong ones", async () => {
    await runBank({ simulatedBankMaxWrongPins: 3 }, 6, Effect.gen(function* () {
      const bank = yield* SimulatedBank
      const card = yield* bank.issueCard({ pan, pin, balanceFen: Fen.make(10_000) })
      const authorise = (tryPin: string) =>
        Effect.either(bank.port.authorise({ cardToken: card, pinBlock: formatPinBlock(tryPin, pan), amountFen: FenTotal.make(1), reference: "P" }))
      const reasons: Array<string> = []
      for (const tryPin of ["000000", "000000", pin, "000000", "000000", pin]) {
        const outcome = yield* authorise(tryPin)
        reasons.push(Either.isLeft(outcome) ? outcome.left.reason : "authorised")
      }
      assert.deepEqual(reasons, ["wrong-pin", "wrong-pin", "authorised", "wrong-pin", "wrong-pin", "authorised"])
    }))
  })
})
