/**
 * Test helpers for payments: kiosks and their clients, bank cards, PIN blocks, the simulated
 * gateway's controls, and the ledger's double-entry checks over the store.
 */
import assert from "node:assert/strict"
import { Effect } from "effect"
import type { Fen, StationCode } from "../Domain.js"
import type { KioskId } from "../payments/Payments/Api.js"
import { formatPinBlock } from "../payments/Payments/PinBlock.js"
import type { CardToken } from "../payments/Payments/BankPort.js"
import { SimulatedBank } from "../Simulated/Bank.js"
import type { GatewayBehaviour } from "../Simulated/Gateway.js"
import { SimulatedGateway } from "../Simulated/Gateway.js"
import type { ChargeId } from "../payments/Payments/GatewayNotification.js"
import { adminClient, clientWithHeaders, storeQuery } from "./TestServer.js"
import type { ChunyunClient, TestServer } from "./TestServer.js"

export const kioskClient = (baseUrl: string, deviceKey: string) => clientWithHeaders(baseUrl, { "x-device-key": deviceKey })

export interface TestKiosk {
  readonly client: ChunyunClient
  readonly kioskId: KioskId
  readonly deviceKey: string
}

export const newKiosk = (baseUrl: string, kioskId: string, station: string) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const registered = yield* admin.paymentsAdmin.registerKiosk({ payload: { kioskId: kioskId as KioskId, station: station as StationCode } })
    const kiosk: TestKiosk = { client: yield* kioskClient(baseUrl, registered.deviceKey), kioskId: registered.kioskId, deviceKey: registered.deviceKey }
    return kiosk
  })

export interface TestCard {
  readonly token: CardToken
  readonly pan: string
  readonly pin: string
  /** the format-0 PIN block of the right PIN */
  readonly pinBlock: string
}

let cardsIssued = 0
/** A fresh 19-digit UnionPay-like PAN (BIN 622202) the simulated bank has never seen in this process. */
export const freshPan = () => `622202${String(++cardsIssued).padStart(12, "0")}8`

/** Issues a card at the simulated bank through the admin endpoint. */
export const issueCard = (baseUrl: string, card: { balanceFen: number; pin?: string; lost?: boolean }) =>
  Effect.gen(function* () {
    const admin = yield* adminClient(baseUrl)
    const pan = freshPan()
    const pin = card.pin ?? "246810"
    const issued = yield* admin.paymentsAdmin.issueBankCard({
      payload: { pan, pin, balanceFen: card.balanceFen as Fen, ...(card.lost === undefined ? {} : { lost: card.lost }) }
    })
    const result: TestCard = { token: issued.cardToken, pan, pin, pinBlock: formatPinBlock(pin, pan) }
    return result
  })

export const cardState = (server: TestServer, token: CardToken) =>
  server.run(Effect.flatMap(SimulatedBank, (bank) => bank.cardState(token)))
export const bankCaptures = (server: TestServer) => server.run(Effect.flatMap(SimulatedBank, (bank) => bank.captures))

export const planGateway = (server: TestServer, behaviour: GatewayBehaviour) =>
  server.run(Effect.flatMap(SimulatedGateway, (gateway) => gateway.plan(behaviour)))
/** A freshly signed notification of the charge's outcome, to post as the gateway would. */
export const gatewayNotification = async (server: TestServer, chargeId: ChargeId) => {
  const signed = await server.run(Effect.flatMap(SimulatedGateway, (gateway) => gateway.notification(chargeId)))
  assert.ok(signed, `the simulated gateway has no outcome for ${chargeId} yet`)
  return signed
}
export const gatewayChargeState = (server: TestServer, chargeId: ChargeId) =>
  server.run(Effect.flatMap(SimulatedGateway, (gateway) => gateway.chargeState(chargeId)))

/**
 * Double entry over the store: balances sum to zero, every balance is its posted credits minus debits, and
 * every account's pending debits / credits are exactly its live reservations.
 */
export const assertLedgerConsistent = async (server: TestServer) => {
  const [sums] = await server.run(storeQuery<Record<string, number>>(`SELECT
    (SELECT COALESCE(SUM(balance_fen), 0) FROM account_balances) AS balances,
    (SELECT COALESCE(SUM(pending_debits_fen), 0) FROM account_balances) AS pending_debits,
    (SELECT COALESCE(SUM(pending_credits_fen), 0) FROM account_balances) AS pending_credits,
    (SELECT COALESCE(SUM(amount_fen), 0) FROM pending_transfers WHERE state = 'pending') AS live_reservations,
    (SELECT COUNT(*) FROM account_balances a WHERE a.balance_fen <>
       COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.credit_account_id = a.id), 0)
       - COALESCE((SELECT SUM(amount_fen) FROM transfers t WHERE t.debit_account_id = a.id), 0)) AS balances_off,
    (SELECT COUNT(*) FROM account_balances a WHERE
       a.pending_debits_fen <> COALESCE((SELECT SUM(amount_fen) FROM pending_transfers p WHERE p.state = 'pending' AND p.debit_account_id = a.id), 0)
       OR a.pending_credits_fen <> COALESCE((SELECT SUM(amount_fen) FROM pending_transfers p WHERE p.state = 'pending' AND p.credit_account_id = a.id), 0)) AS pending_off,
    (SELECT COUNT(*) FROM pending_transfers p WHERE p.state = 'posted' AND NOT EXISTS (SELECT 1 FROM transfers t
       WHERE t.id = p.posted_transfer_id AND t.amount_fen = p.amount_fen AND t.purpose = 'order-payment')) AS posted_without_transfer`))
  const numbers = Object.fromEntries(Object.entries(sums ?? {}).map(([name, value]) => [name, Number(value)]))
  assert.deepEqual(numbers, {
    balances: 0, pending_debits: numbers.live_reservations, pending_credits: numbers.live_reservations,
    live_reservations: numbers.live_reservations, balances_off: 0, pending_off: 0, posted_without_transfer: 0
  })
}

/** Transfers of an order by purpose, e.g. { "order-payment": 1 }. */
export const transfersOf = async (server: TestServer, orderId: string) => {
  const rows = await server.run(storeQuery<{ purpose: string; count: number }>(
    `SELECT purpose, COUNT(*) AS count FROM transfers WHERE order_id = ? GROUP BY purpose ORDER BY purpose`, orderId))
  return Object.fromEntries(rows.map((row) => [row.purpose, Number(row.count)]))
}

export const balanceOfAccount = async (server: TestServer, accountId: string) => {
  const [row] = await server.run(storeQuery<{ balance_fen: number }>(`SELECT balance_fen FROM account_balances WHERE id = ?`, accountId))
  return Number(row?.balance_fen)
}
