/**
 * Every identifier and secret token comes from Effect's `Random`: seeded in a simulation (so a run
 * is reproducible), backed by the operating system's CSPRNG in `chunyun serve` (see CryptoRandom.ts).
 */
import { Effect, Random } from "effect"
import type { CustomerId, OrderId, TicketId, TransferId } from "./Domain.js"

const hexChunk = Random.nextIntBetween(0, 0x10000).pipe(Effect.map((n) => n.toString(16).padStart(4, "0")))

/** `hexChars` must be a multiple of 4 */
export const randomHex = (hexChars: number): Effect.Effect<string> =>
  Effect.map(Effect.all(Array.from({ length: hexChars / 4 }, () => hexChunk)), (parts) => parts.join(""))

export const randomBytes = (byteCount: number): Effect.Effect<Uint8Array> =>
  Effect.map(randomHex(Math.ceil(byteCount / 2) * 4), (hex) => Uint8Array.from(Buffer.from(hex, "hex").subarray(0, byteCount)))

export class Ids extends Effect.Service<Ids>()("Ids", {
  succeed: {
    customerId: Effect.map(randomHex(16), (hex) => `C${hex}` as CustomerId),
    orderId: Effect.map(randomHex(16), (hex) => `O${hex}` as OrderId),
    transferId: Effect.map(randomHex(16), (hex) => `T${hex}` as TransferId),
    ticketId: Effect.map(randomHex(20), (hex) => hex as TicketId),
    secretToken: randomHex(32)
  }
}) {}
