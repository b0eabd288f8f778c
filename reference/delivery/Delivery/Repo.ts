import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { TicketId } from "../../Domain.js"
import { InvalidVoucherCode, VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable } from "./Errors.js"
import { normaliseVoucherCode } from "./VoucherCode.js"

export class VouchersRepo extends Effect.Service<VouchersRepo>()("VouchersRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /**
     * Redeems the voucher `typed` at machine `machineId` (a cinema's ticket machine or a station kiosk): one
     * conditional write, so the first redemption wins, and only the voucher of a live ticket (its order issued,
     * the ticket not voided) redeems. Runs inside the caller's transaction; answers the redeemed ticket.
     */
    const redeemVoucher = (typed: string, machineId: string, nowMs: number) =>
      Effect.gen(function* () {
        const normalised = normaliseVoucherCode(typed)
        if (!normalised.ok) return yield* new InvalidVoucherCode({ message: normalised.problem })
        const code = normalised.code
        const [redeemed] = yield* sql<{ ticket_id: TicketId }>`UPDATE ticket_vouchers SET redeemed_at_ms = ${nowMs}, redeemed_machine_id = ${machineId}
          WHERE code = ${code} AND redeemed_at_ms IS NULL
            AND EXISTS (SELECT 1 FROM tickets t JOIN orders o ON o.id = t.order_id
                        WHERE t.id = ticket_vouchers.ticket_id AND o.state = 'issued' AND t.voided_at_ms IS NULL)
          RETURNING ticket_id`
        if (redeemed) return { code, ticketId: redeemed.ticket_id }
        const [voucher] = yield* sql<{ redeemed_at_ms: number | null; redeemed_machine_id: string | null; state: string; voided_at_ms: number | null }>`
          SELECT v.redeemed_at_ms, v.redeemed_machine_id, o.state, t.voided_at_ms FROM ticket_vouchers v
          JOIN tickets t ON t.id = v.ticket_id JOIN orders o ON o.id = t.order_id WHERE v.code = ${code}`
        if (!voucher) return yield* new VoucherNotFound({ code })
        if (voucher.redeemed_at_ms !== null) {
          return yield* new VoucherAlreadyRedeemed({ code, redeemedAtMs: Number(voucher.redeemed_at_ms), machineId: voucher.redeemed_machine_id ?? "" })
        }
        return yield* new VoucherNotRedeemable({ code, state: voucher.voided_at_ms !== null && voucher.state === "issued" ? "voided" : voucher.state })
      })

    return { redeemVoucher } as const
  })
}) {}
