/**
 * Client priority for simultaneous holds of one seat (seed 004 [0065]: the booking time and a client priority
 * given by the app's install time, [0059], decide the order among several people booking the same ticket at once).
 *
 * A tie: a hold of a chosen seat arrives less than `seatClaimTieWindowMs` (on the server's clock) after the hold
 * that has the seat now. Within a tie the device whose app was installed earlier wins; a customer without an
 * install time (a phone customer, a device that sent none) ranks after every device with one, and equal ranks
 * keep the first hold. Outside the window the first hold wins, as everywhere else.
 *
 * How: the ordinary claim runs first, whatever the inventory design. Only when it finds the chosen seat taken, and
 * the claimant has an install time, does `takeOver` run, in a transaction of its own:
 *   1. lock the rows of the seat's held orders that overlap the journey (in ID order), then read the seat's live
 *      orders again in a new statement, which sees whatever committed while a lock was awaited;
 *   2. every one of them must be a hold the claimant wins (held within the window, not expired, no payment under
 *      way, installed strictly later); a paid or issued order, or any hold the claimant does not win, ends it;
 *   3. cancel them, each with a `seat-priority` cancel record naming the winning order;
 *   4. give their segments back and take the journey's in one conditional write on the seat: if any other owner
 *      still holds a segment of the journey, no row changes and the whole transaction rolls back;
 *   5. write the claimant's held order.
 * The seat's lock bits change only in that conditional write, in the same transaction as the orders they belong
 * to, so the seat lock's invariant (its bits are the union of its live orders' segments, and no two live orders
 * overlap) holds as for any hold. Locks are taken orders first, seat second, the order a cancel and an expiry take
 * them in. A hold that committed after step 1 (PostgreSQL, another process) shows as a held order that was not
 * locked, or fails the write of step 4: the decision is then taken again from the start, at most
 * `maxTieDecisionAttempts` times. The displaced customer learns it at the next step: paying answers `HoldDisplaced`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Data, Effect } from "effect"
import { HoldConfig } from "../../Settings/Holds.js"
import type { OrderId } from "../../Domain.js"
import { LifecycleRepo, seatPriorityActor } from "../Lifecycle/Repo.js"
import { OrdersRepo } from "./Repo.js"
import type { HeldSeat, HoldInput, SeatOwnerRow } from "./Repo.js"
import { spanOptions } from "../../Spans.js"

const secondsPerDay = 86_400
/** the rank of a customer without an install time: after every device with one (23:59:59 ranks 86,399) */
export const noInstallTimeRank = secondsPerDay
const installTimeFormat = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$/

/**
 * How many times a tie is decided from the start when the seat changed under the decision before the claimant is
 * answered as if it had lost. Each change is a rival's hold or takeover committed meanwhile (PostgreSQL, several
 * requests at once), and a rival's request commits at most one: a claimant with fewer rivals than this always
 * reaches a decision.
 */
export const maxTieDecisionAttempts = 8

/**
 * A customer's priority from its app's install time, "HH:MM:SS" (Customers/DeviceId.ts): seconds after midnight,
 * lower first. The device ID carries a time of day only ([0059]: 8 bytes), so that is what ranks.
 */
export const installRankOf = (installTime: string | null): number => {
  const parts = installTime === null ? null : installTimeFormat.exec(installTime)
  // registration refuses any other form: a stored value that is not one ranks as none
  if (!parts) return noInstallTimeRank
  return Number(parts[1]) * 3_600 + Number(parts[2]) * 60 + Number(parts[3])
}

/** The later of two holds of one seat ties with the earlier when it arrived less than `windowMs` after it. */
export const isTie = (heldAtMs: number, claimAtMs: number, windowMs: number) => claimAtMs - heldAtMs < windowMs

export interface Holder {
  readonly heldAtMs: number
  readonly holdExpiresAtMs: number
  readonly installRank: number
  readonly livePayments: number
}

/** Why `holder` keeps its seat against a claimant of `claimantRank` arriving at `claimAtMs`; undefined: it loses it. */
export const keepsSeat = (holder: Holder, claimantRank: number, claimAtMs: number, windowMs: number): string | undefined => {
  if (holder.holdExpiresAtMs <= claimAtMs) return "expired"
  if (!isTie(holder.heldAtMs, claimAtMs, windowMs)) return "held before the tie window"
  if (holder.livePayments > 0) return "a payment is under way"
  if (claimantRank >= holder.installRank) return "installed no later than the claimant"
  return undefined
}

const holderOf = (row: SeatOwnerRow): Holder => ({
  heldAtMs: Number(row.held_at_ms), holdExpiresAtMs: Number(row.hold_expires_at_ms),
  installRank: installRankOf(row.device_install_time), livePayments: Number(row.live_payments)
})

/** The seat changed while the tie was being decided: roll the transaction back and decide again. */
class SeatChangedMeanwhile extends Data.TaggedError("SeatChangedMeanwhile") {}

/** A hold that won a tie: its seat, and how many holds it took the seat from. */
export interface TieWon {
  readonly seat: HeldSeat
  readonly displaced: number
}

export const makeSeatPriority = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const repo = yield* OrdersRepo
  const lifecycle = yield* LifecycleRepo
  const config = yield* HoldConfig

  const claimantRank = (input: HoldInput) =>
    sql<{ device_install_time: string | null }>`SELECT device_install_time FROM customers WHERE id = ${input.customerId}`.pipe(
      Effect.map((rows) => installRankOf(rows[0]?.device_install_time ?? null)))

  /** Cancel each displaced hold (locked: it is still held); the mask of the segments they held. */
  const displace = (holders: ReadonlyArray<SeatOwnerRow>, nowMs: number) =>
    Effect.gen(function* () {
      let releasedMask = 0
      for (const holder of holders) {
        if (!(yield* repo.transition(holder.id, "held", "cancelled", { column: "closed_at_ms", atMs: nowMs }))) {
          return yield* Effect.dieMessage(`order ${holder.id} left 'held' under its own lock`)
        }
        // live orders of one seat never overlap, and masks stay below 2^31 (maxStopsPerTrain): OR is exact
        releasedMask |= Number(holder.segment_mask)
      }
      return releasedMask
    })

  const recordDisplaced = (holders: ReadonlyArray<SeatOwnerRow>, winner: OrderId, nowMs: number) =>
    Effect.forEach(holders, (holder) => lifecycle.insertEvent({
      order_id: holder.id, customer_id: holder.customer_id, kind: "cancelled", actor: seatPriorityActor,
      reason: `the seat went to a device installed earlier, whose hold came within ${config.seatClaimTieWindowMs} ms`,
      price_fen: Number(holder.price_fen), fee_fen: 0, refund_fen: 0, charge_fen: 0, related_order_id: winner, at_ms: nowMs
    }), { discard: true })

  /** One decision, inside its transaction: the seat won, undefined when the claimant loses. */
  const decide = (input: HoldInput, seatId: number, rank: number) =>
    Effect.gen(function* () {
      const nowMs = input.heldAtMs
      const locked = new Set<string>(yield* repo.lockHeldOn(seatId, input.mask))
      const owners = yield* repo.liveOwnersOn(seatId, input.mask)
      if (owners.some((owner) => owner.state === "held" && !locked.has(owner.id))) return yield* new SeatChangedMeanwhile()
      // paid or issued on a segment of the journey: sold, no tie
      if (owners.some((owner) => owner.state !== "held")) return undefined
      if (owners.some((owner) => keepsSeat(holderOf(owner), rank, nowMs, config.seatClaimTieWindowMs) !== undefined)) return undefined
      const releasedMask = yield* displace(owners, nowMs)
      const seat = yield* repo.takeOverSeat(seatId, releasedMask, input.mask)
      if (seat === undefined) return yield* new SeatChangedMeanwhile()
      const priceFen = input.pricesByClass.get(seat.seat_class)
      if (priceFen === undefined) return yield* Effect.dieMessage(`run ${input.runId}: class ${seat.seat_class} has seats but no fares`)
      yield* repo.insertHeld({
        id: input.id, customerId: input.customerId, runId: input.runId, seatId, fromIndex: input.fromIndex, toIndex: input.toIndex,
        mask: input.mask, priceFen, heldAtMs: input.heldAtMs, holdExpiresAtMs: input.holdExpiresAtMs
      })
      yield* recordDisplaced(owners, input.id, nowMs)
      const won: TieWon = {
        seat: { seatId, seatClass: seat.seat_class, coach: Number(seat.coach), seatCode: seat.seat_code, priceFen }, displaced: owners.length
      }
      return won
    })

  /**
   * The chosen seat `seatId` was taken when the hold `input` arrived (`input.heldAtMs`): take it from the holds it
   * ties with and outranks, or answer undefined (nothing written). See the module's comment for the steps.
   */
  const takeOver = (input: HoldInput, seatId: number) =>
    Effect.gen(function* () {
      if (config.seatClaimTieWindowMs <= 0) return undefined
      const rank = yield* claimantRank(input)
      // ranking last, the claimant outranks no one: no transaction
      if (rank >= noInstallTimeRank) return undefined
      for (let attempt = 1; attempt <= maxTieDecisionAttempts; attempt++) {
        const outcome = yield* decide(input, seatId, rank).pipe(
          sql.withTransaction,
          Effect.map((won) => ({ _tag: "Decided" as const, won })),
          Effect.catchTag("SeatChangedMeanwhile", () => Effect.succeed({ _tag: "DecideAgain" as const })))
        if (outcome._tag === "Decided") return outcome.won
      }
      return undefined
    }).pipe(Effect.withSpan("SeatPriority.takeOver", spanOptions))

  return { takeOver } as const
})
