/**
 * A SIM ticket carrier (seed 003): a phone's SIM with 1–2 KB reserved for tickets, about 255 B each. It
 * writes the tickets the server offers while it has room and acknowledges them; when a ticket leaves the
 * SIM (used at a gate, or deleted) it reports the freed slot and writes what migrates in from the network
 * ticket box. Its own slot count is a second check on the server's: an offer beyond it is refused and counted.
 */
import { Effect } from "effect"
import type { TicketId } from "../reference/Domain.js"
import { ticketTextPrefix } from "../reference/delivery/Issuance/TicketCode.js"
import { withCredentials } from "./Client.js"
import type { ApiClient } from "./Client.js"

export interface SimCarrier {
  readonly msisdn: string
  readonly capacitySlots: number
  /** the tickets on the SIM, in the order written: ticket ID → signed bytes */
  readonly stored: () => ReadonlyMap<string, Uint8Array>
  /** offers the SIM refused for want of a slot or for size (a server bug if ever non-zero) */
  readonly refusedWrites: () => number
  /** writes every offered ticket that fits and acknowledges them; answers how many were written */
  readonly sync: Effect.Effect<number, unknown>
  /** a ticket leaves the SIM: freed locally, reported, and the migrations that follow are written */
  readonly remove: (ticketId: string) => Effect.Effect<number, unknown>
}

export const makeSimCarrier = (
  client: ApiClient,
  options: { readonly msisdn: string; readonly deviceKey: string; readonly capacityBytes: number; readonly slotBytes: number }
): SimCarrier => {
  const capacitySlots = Math.floor(options.capacityBytes / options.slotBytes)
  const stored = new Map<string, Uint8Array>()
  let refused = 0
  const asCarrier = withCredentials({ "x-device-key": options.deviceKey })

  const writeOffered = (tickets: ReadonlyArray<{ ticketId: TicketId; qr: string; written: boolean }>) =>
    Effect.gen(function* () {
      const written: Array<TicketId> = []
      for (const ticket of tickets) {
        if (ticket.written || stored.has(ticket.ticketId)) continue
        const bytes = Buffer.from(ticket.qr.slice(ticketTextPrefix.length), "base64url")
        if (stored.size >= capacitySlots || bytes.length > options.slotBytes) {
          refused++
          continue
        }
        stored.set(ticket.ticketId, Uint8Array.from(bytes))
        written.push(ticket.ticketId)
      }
      if (written.length > 0) yield* client.delivery.acknowledgeWritten({ payload: { ticketIds: written } })
      return written.length
    })

  const sync = Effect.flatMap(client.delivery.carrierTickets(), (state) => writeOffered(state.tickets)).pipe(asCarrier)

  const remove = (ticketId: string) =>
    Effect.gen(function* () {
      stored.delete(ticketId)
      const state = yield* client.delivery.reportRemoved({ payload: { ticketIds: [ticketId as TicketId] } })
      return yield* writeOffered(state.tickets)
    }).pipe(asCarrier)

  return {
    msisdn: options.msisdn, capacitySlots, stored: () => stored, refusedWrites: () => refused, sync, remove
  }
}
