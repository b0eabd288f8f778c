/**
 * Offline gates (seeds 000, 003: the ticket is verified with the public key, so a gate that lost its link
 * keeps admitting). When the link is back the gate syncs what it admitted. Each admission redeems its ticket
 * with the same conditional write as an online scan, so the first admission — online or offline — owns the
 * ticket; a later one is a double admission, recorded and counted, never hidden (invariant admitted-once, docs/design.md).
 * A binding the gate could not check (the salt never leaves the server) is checked here, and a mismatch is
 * reported the same way.
 */
import { createHash } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import type { GateId, StationCode } from "../Domain.js"
import type { OfflineAdmission, OfflineReport, SyncOutcome, SyncResult } from "./GateSync/Api.js"
import { TicketKeys } from "./Issuance/Keys.js"
import { bindingTagFor, decodeTicket } from "./Issuance/TicketCode.js"
import { spanOptions } from "../Spans.js"

/** how many double admissions the report lists when the caller names no limit */
export const defaultOfflineReportLimit = 100
const unverifiedDigestHexChars = 20

export class GateSync extends Effect.Service<GateSync>()("GateSync", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const keys = yield* TicketKeys

    /** Redeem the ticket for this admission, or name who redeemed it first. Inside the sync's transaction. */
    const redeem = (ticketId: string, gateId: GateId, admittedAtMs: number) =>
      Effect.gen(function* () {
        const redeemed = yield* sql`UPDATE tickets SET admitted_at_ms = ${admittedAtMs}, admitted_gate_id = ${gateId}
          WHERE id = ${ticketId} AND admitted_at_ms IS NULL
            AND EXISTS (SELECT 1 FROM orders o WHERE o.id = tickets.order_id AND o.state = 'issued')
          RETURNING id`
        if (redeemed.length === 1) return { outcome: "admitted" as const, firstGateId: null, firstAdmittedAtMs: null }
        const [ticket] = yield* sql<{ admitted_at_ms: number | null; admitted_gate_id: string | null }>`SELECT admitted_at_ms, admitted_gate_id
          FROM tickets WHERE id = ${ticketId}`
        // never issued here, or its order was refunded or changed: the gate let through a ticket that is not valid
        if (!ticket || ticket.admitted_at_ms === null) return { outcome: "invalid" as const, firstGateId: null, firstAdmittedAtMs: null }
        return { outcome: "double" as const, firstGateId: ticket.admitted_gate_id, firstAdmittedAtMs: Number(ticket.admitted_at_ms) }
      })

    const syncOne = (gateId: GateId, admission: OfflineAdmission, nowMs: number) =>
      sql.withTransaction(Effect.gen(function* () {
        const decoded = decodeTicket(admission.qr, keys.publicKeys)
        const ticketId = decoded.ok
          ? decoded.payload.ticketId
          : `qr:${createHash("sha256").update(admission.qr).digest("hex").slice(0, unverifiedDigestHexChars)}`
        const [known] = yield* sql<{ outcome: SyncOutcome }>`SELECT outcome FROM offline_admissions
          WHERE gate_id = ${gateId} AND ticket_id = ${ticketId}`
        if (known) return { ticketId, outcome: known.outcome, firstSync: false }
        const verdict = !decoded.ok
          ? { outcome: "invalid" as const, firstGateId: null, firstAdmittedAtMs: null }
          : bindingTagFor(admission.presentedHolder, keys.bindingSalt) !== decoded.payload.bindingTag
          ? { outcome: "binding-mismatch" as const, firstGateId: null, firstAdmittedAtMs: null }
          : yield* redeem(ticketId, gateId, admission.admittedAtMs)
        yield* sql`INSERT INTO offline_admissions (gate_id, ticket_id, presented_holder, admitted_at_ms, synced_at_ms, outcome, first_gate_id, first_admitted_at_ms)
          VALUES (${gateId}, ${ticketId}, ${admission.presentedHolder}, ${admission.admittedAtMs}, ${nowMs}, ${verdict.outcome},
                  ${verdict.firstGateId}, ${verdict.firstAdmittedAtMs})`
        if (verdict.outcome !== "admitted") {
          yield* Effect.logWarning(`offline admission at gate ${gateId} of ${ticketId}: ${verdict.outcome}`)
        }
        return { ticketId, outcome: verdict.outcome, firstSync: true }
      }))

    /** One transaction per admission: a bad one does not hold back the rest, and a retried sync changes nothing. */
    const sync = (gate: { id: GateId; station: StationCode }, admissions: ReadonlyArray<OfflineAdmission>) =>
      Effect.gen(function* () {
        const nowMs = yield* Clock.currentTimeMillis
        const results = yield* Effect.forEach(admissions, (admission) => syncOne(gate.id, admission, nowMs))
        const result: SyncResult = { results }
        return result
      }).pipe(Effect.withSpan("GateSync.sync", spanOptions))

    const report = (limit: number = defaultOfflineReportLimit) =>
      Effect.gen(function* () {
        const counted = yield* sql<{ outcome: SyncOutcome; n: number }>`SELECT outcome, COUNT(*) AS n FROM offline_admissions GROUP BY outcome`
        const counts = { admitted: 0, double: 0, invalid: 0, "binding-mismatch": 0 }
        for (const row of counted) counts[row.outcome] = Number(row.n)
        const doubles = yield* sql<{ ticket_id: string; gate_id: GateId; admitted_at_ms: number; first_gate_id: string; first_admitted_at_ms: number }>`
          SELECT ticket_id, gate_id, admitted_at_ms, first_gate_id, first_admitted_at_ms FROM offline_admissions
          WHERE outcome = 'double' ORDER BY id DESC LIMIT ${limit}`
        const result: OfflineReport = {
          counts,
          doubleAdmissions: doubles.map((row) => ({
            ticketId: row.ticket_id, gateId: row.gate_id, admittedAtMs: Number(row.admitted_at_ms),
            firstGateId: row.first_gate_id, firstAdmittedAtMs: Number(row.first_admitted_at_ms)
          }))
        }
        return result
      })

    return { sync, report } as const
  })
}) {}
