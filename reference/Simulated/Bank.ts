/**
 * The simulated bank behind the Bank port (reference/payments/Payments/BankPort.ts). It keeps PANs and PINs in memory:
 * it stands for another institution, not for this server's store. Latency is a setting and passes on Effect's
 * Clock; authorisation IDs and codes come from Effect's Random, so a simulated run is reproducible.
 */
import { Effect, Layer, Random, Ref, Schema } from "effect"
import type { Context } from "effect"
import { FenTotal } from "../Domain.js"
import type { Fen } from "../Domain.js"
import { randomHex } from "../Ids.js"
import { Bank, BankDeclined } from "../payments/Payments/BankPort.js"
import type { Authorisation, CardToken } from "../payments/Payments/BankPort.js"
import { parsePinBlock } from "../payments/Payments/PinBlock.js"
import { SimulatedBankConfig } from "./Settings.js"

/**
 * How the simulated bank answers right now (a party outside this server, so the operator of a simulation sets
 * it through `PUT /admin/bank/conditions`): each authorisation takes `latencyMs` plus a uniform draw up to
 * `latencyJitterMs`, plus `extraLatencyMs` (a slowdown), and is declined as `issuer-unavailable` with
 * `declineRate` (a brownout). Starts from the bank's settings, with no slowdown and no declines.
 */
export const BankConditions = Schema.Struct({
  latencyMs: Schema.Int.pipe(Schema.between(0, 600_000)),
  latencyJitterMs: Schema.Int.pipe(Schema.between(0, 600_000)),
  extraLatencyMs: Schema.Int.pipe(Schema.between(0, 600_000)),
  declineRate: Schema.Number.pipe(Schema.between(0, 1))
})
export type BankConditions = typeof BankConditions.Type

interface SimulatedCard {
  readonly pan: string
  readonly pin: string
  readonly balanceFen: FenTotal
  readonly heldFen: FenTotal
  readonly lost: boolean
  /** wrong PINs since the last right one; at `simulatedBankMaxWrongPins` the card is blocked */
  readonly wrongPins: number
}
interface SimulatedAuthorisation {
  readonly cardToken: CardToken
  readonly amountFen: FenTotal
  readonly state: "held" | "captured" | "released" | "refunded"
}

/** The simulated bank: the Bank port (`port`), and the controls tests and the simulator reach (cards, conditions, state). */
export class SimulatedBank extends Effect.Service<SimulatedBank>()("SimulatedBank", {
  effect: Effect.gen(function* () {
    const config = yield* SimulatedBankConfig
    const cards = yield* Ref.make(new Map<CardToken, SimulatedCard>())
    const authorisations = yield* Ref.make(new Map<string, SimulatedAuthorisation>())
    const conditions = yield* Ref.make<BankConditions>({
      latencyMs: config.simulatedBankLatencyMs, latencyJitterMs: config.simulatedBankLatencyJitterMs, extraLatencyMs: 0, declineRate: 0
    })
    // nothing is drawn from Random for a jitter or a decline rate of 0: runs without them keep their draws
    const slowly = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.gen(function* () {
        const now = yield* Ref.get(conditions)
        const jitterMs = now.latencyJitterMs > 0 ? yield* Random.nextIntBetween(0, now.latencyJitterMs + 1) : 0
        const latencyMs = now.latencyMs + jitterMs + now.extraLatencyMs
        if (latencyMs > 0) yield* Effect.sleep(latencyMs)
        if (now.declineRate > 0 && (yield* Random.next) < now.declineRate) return yield* new BankDeclined({ reason: "issuer-unavailable" })
        return yield* effect
      })

    /** Issue a card (admin or test): returns the token a card reader would send for it. */
    const issueCard = (card: { pan: string; pin: string; balanceFen: Fen; lost?: boolean | undefined }) =>
      Effect.gen(function* () {
        const token = `ct_${card.pan.slice(0, 6)}_${card.pan.slice(-4)}_${yield* randomHex(16)}` as CardToken
        yield* Ref.update(cards, (all) => new Map(all).set(token, { pan: card.pan, pin: card.pin, balanceFen: FenTotal.make(card.balanceFen), heldFen: FenTotal.make(0), lost: card.lost ?? false, wrongPins: 0 }))
        return token
      })

    const updateCard = (token: CardToken, change: (card: SimulatedCard) => SimulatedCard) =>
      Ref.update(cards, (all) => {
        const card = all.get(token)
        return card ? new Map(all).set(token, change(card)) : all
      })

    /**
     * The PIN check and its count in one update of the cards: concurrent authorisations cannot all read a count
     * under the limit. A blocked card is declined before its PIN is compared.
     */
    const checkPin = (token: CardToken, pin: string) =>
      Ref.modify(cards, (all): readonly ["right" | "wrong-pin" | "pin-tries-exceeded" | "unknown-card", Map<CardToken, SimulatedCard>] => {
        const card = all.get(token)
        if (!card) return ["unknown-card", all]
        if (card.wrongPins >= config.simulatedBankMaxWrongPins) return ["pin-tries-exceeded", all]
        if (pin !== card.pin) return ["wrong-pin", new Map(all).set(token, { ...card, wrongPins: card.wrongPins + 1 })]
        return ["right", card.wrongPins === 0 ? all : new Map(all).set(token, { ...card, wrongPins: 0 })]
      })

    const authorise = (request: { cardToken: CardToken; pinBlock: string; amountFen: FenTotal; reference: string }): Effect.Effect<Authorisation, BankDeclined> =>
      slowly(Effect.gen(function* () {
        const card = (yield* Ref.get(cards)).get(request.cardToken)
        if (!card) return yield* new BankDeclined({ reason: "unknown-card" })
        if (card.lost) return yield* new BankDeclined({ reason: "lost-card" })
        const parsed = parsePinBlock(request.pinBlock, card.pan)
        if (!parsed.ok) return yield* new BankDeclined({ reason: "invalid-pin-block" })
        const pinCheck = yield* checkPin(request.cardToken, parsed.pin)
        if (pinCheck !== "right") return yield* new BankDeclined({ reason: pinCheck })
        if (card.balanceFen - card.heldFen < request.amountFen) return yield* new BankDeclined({ reason: "insufficient-funds" })
        const authorisationId = `A${yield* randomHex(16)}`
        const authCode = String(parseInt(yield* randomHex(8), 16) % 1_000_000).padStart(6, "0")
        yield* updateCard(request.cardToken, (held) => ({ ...held, heldFen: FenTotal.make(held.heldFen + request.amountFen) }))
        yield* Ref.update(authorisations, (all) => new Map(all).set(authorisationId, {
          cardToken: request.cardToken, amountFen: request.amountFen, state: "held"
        }))
        const result: Authorisation = { authorisationId, authCode }
        return result
      }))

    const settle = (authorisationId: string, to: "captured" | "reversed", refundFen?: FenTotal) =>
      Effect.gen(function* () {
        const authorisation = (yield* Ref.get(authorisations)).get(authorisationId)
        if (!authorisation) return yield* Effect.dieMessage(`the bank knows no authorisation ${authorisationId}`)
        const amount = authorisation.amountFen
        if (to === "captured" && authorisation.state === "held") {
          yield* updateCard(authorisation.cardToken, (card) => ({
            ...card, heldFen: FenTotal.make(card.heldFen - amount), balanceFen: FenTotal.make(card.balanceFen - amount)
          }))
          yield* Ref.update(authorisations, (all) => new Map(all).set(authorisationId, { ...authorisation, state: "captured" }))
        } else if (to === "reversed" && authorisation.state === "held") {
          yield* updateCard(authorisation.cardToken, (card) => ({ ...card, heldFen: FenTotal.make(card.heldFen - amount) }))
          yield* Ref.update(authorisations, (all) => new Map(all).set(authorisationId, { ...authorisation, state: "released" }))
        } else if (to === "reversed" && authorisation.state === "captured") {
          const returned = Math.min(amount, refundFen ?? amount)
          yield* updateCard(authorisation.cardToken, (card) => ({ ...card, balanceFen: FenTotal.make(card.balanceFen + returned) }))
          yield* Ref.update(authorisations, (all) => new Map(all).set(authorisationId, { ...authorisation, state: "refunded" }))
        }
      })

    /** A card's balance and held amount, as the bank sees them (tests, auditor). */
    const cardState = (token: CardToken) =>
      Effect.map(Ref.get(cards), (all) => {
        const card = all.get(token)
        return card ? { balanceFen: card.balanceFen, heldFen: card.heldFen, lost: card.lost } : undefined
      })
    const captures = Effect.map(Ref.get(authorisations), (all) =>
      Array.from(all.values()).filter((authorisation) => authorisation.state === "captured").length)

    const port: Context.Tag.Service<Bank> = {
      authorise,
      capture: (authorisationId) => settle(authorisationId, "captured"),
      reverse: (authorisationId, amountFen) => settle(authorisationId, "reversed", amountFen)
    }
    return { issueCard, conditions: Ref.get(conditions), setConditions: (next: BankConditions) => Ref.set(conditions, next), reportLost: (token: CardToken) => updateCard(token, (card) => ({ ...card, lost: true })), cardState, captures, port } as const
  })
}) {}

/** The Bank port served by the simulated bank. */
export const SimulatedBankPort = Layer.effect(Bank, Effect.map(SimulatedBank, (bank) => bank.port))
