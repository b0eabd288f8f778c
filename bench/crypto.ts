/**
 * The crypto an order needs, measured in the bench's own process on one core: the payment password's check (the
 * server's own `PaymentPasswords.verify`, an HMAC under the key of a fresh in-memory store) and the ticket's Ed25519
 * signature (`encodeTicket`). Every paid order costs both wherever they run (a real server signs on libuv's thread
 * pool, beside its event loop), so their sum bounds orders/s on this machine's cores before any other work: the
 * ceiling the end-to-end figures are read against.
 */
import { Context, Effect, Layer } from "effect"
import { PaymentPasswords } from "../reference/customers/PaymentPasswords.js"
import { bindingTagFor, encodeTicket, signingKeyFromSeed } from "../reference/delivery/Issuance/TicketCode.js"
import type { TicketPayload } from "../reference/delivery/Issuance/TicketCode.js"
import { CryptoConfig } from "../reference/Settings/Crypto.js"
import { sqliteStore } from "../reference/Store/Sqlite.js"

/** how many of each operation are timed, after `cryptoWarmupCount` untimed ones */
export const cryptoSampleCount = 400
export const cryptoWarmupCount = 40

const samplePayload: TicketPayload = {
  ticketId: "00112233445566778899", kind: "train", serviceDate: "2027-01-28", departureMinuteOfDay: 6 * 60, priceFen: 100,
  trainCode: "B1", coach: 1, seatCode: "01A", fromStation: "SAA", toStation: "SAB",
  bindingTag: bindingTagFor("15000000000", new Uint8Array(16)), keyId: 1
}

/** Microseconds per call of `work`, over `cryptoSampleCount` calls after a warm-up. */
const microsecondsPer = (work: (index: number) => void) => {
  for (let index = 0; index < cryptoWarmupCount; index++) work(index)
  const startMs = performance.now()
  for (let index = 0; index < cryptoSampleCount; index++) work(index)
  return ((performance.now() - startMs) * 1_000) / cryptoSampleCount
}

export interface CryptoCosts {
  readonly passwordCheckUs: number
  readonly ticketSignatureUs: number
  readonly perOrderUs: number
  /** orders/s this machine's cores allow for the crypto alone */
  readonly ceilingOrdersPerSecond: number
}

export const cryptoCostsPerOrder = async (cores: number): Promise<CryptoCosts> => {
  const passwords = await Effect.runPromise(Effect.scoped(Layer.build(PaymentPasswords.Default.pipe(
    Layer.provide(Layer.merge(CryptoConfig.layer({ cryptoWork: "inline" }), sqliteStore({ filename: ":memory:" })))))).pipe(
    Effect.map((context) => Context.get(context, PaymentPasswords))))
  const stored = Effect.runSync(passwords.hash("123456"))
  const passwordCheckUs = microsecondsPer(() => {
    if (!Effect.runSync(passwords.verify("123456", stored))) throw new Error("the bench's own password did not verify")
  })
  const key = signingKeyFromSeed(new Uint8Array(32).fill(7))
  const ticketSignatureUs = microsecondsPer((index) => { encodeTicket({ ...samplePayload, priceFen: index }, key.privateKey) })
  const perOrderUs = passwordCheckUs + ticketSignatureUs
  return { passwordCheckUs, ticketSignatureUs, perOrderUs, ceilingOrdersPerSecond: (cores * 1_000_000) / perOrderUs }
}
