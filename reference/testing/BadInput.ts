/**
 * Helpers of the bad-input and access-control tests: a small world with two customers (one owning a held
 * order, an issued ticket and a funded wallet), a gate and an expired session; and a digest of every
 * table of the store, to prove that a refused request changed nothing.
 */
import { createHash } from "node:crypto"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { sha256Hex } from "../customers/Customers.js"
import type { OrderId, StationCode, TicketId } from "../Domain.js"
import { newSmsGateway, newTicketMachine } from "./Delivery.js"
import { newKiosk } from "./Payments.js"
import { newAgent } from "./RemoteBookings.js"
import { anonymousClient, createRun, newCustomer, newGate, storeQuery, waitUntil } from "./TestServer.js"
import type { TestCustomer, TestGate, TestRun, TestServer } from "./TestServer.js"

export interface World {
  /** owns nothing */
  readonly stranger: TestCustomer
  /** owns `heldOrderId`, `issuedOrderId` (with `ticketId`) and a wallet of `walletFen` */
  readonly owner: TestCustomer
  readonly run: TestRun
  readonly gate: TestGate
  /** a key of each other kind of device, by the path prefix of the endpoints it opens */
  readonly deviceKeysByPathPrefix: Readonly<Record<string, string>>
  readonly heldOrderId: OrderId
  readonly issuedOrderId: OrderId
  readonly ticketId: TicketId
  readonly walletFen: number
  /** a session token of the stranger's that has expired */
  readonly expiredToken: string
  readonly adminKey: string
  /** a call-centre agent's session (the `x-agent-session` header) */
  readonly agentSessionToken: string
}

const issueTimeoutMs = 10_000
export const ownerTopUpFen = 100_000

export const buildWorld = async (server: TestServer): Promise<World> => {
  const [stranger, owner] = await server.run(Effect.all([newCustomer(server.baseUrl), newCustomer(server.baseUrl)]))
  const run = await server.run(createRun(server.baseUrl, { trainCode: "G7001", stations: ["BJP", "TJP", "JNK"], seatCount: 4 }))
  const gate = await server.run(newGate(server.baseUrl, "world-gate-1", "BJP"))
  const hold = (from: string, to: string) =>
    owner.client.orders.hold({ payload: { runId: run.runId, fromStation: from as StationCode, toStation: to as StationCode } })
  const issued = await server.run(Effect.gen(function* () {
    yield* owner.client.accounts.topUp({ headers: { "idempotency-key": "world-top-up-1" }, payload: { amountFen: ownerTopUpFen as never } })
    const order = yield* hold("BJP", "TJP")
    yield* owner.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": "world-payment-1" }, payload: { paymentPassword: owner.paymentPassword }
    })
    return order
  }))
  const held = await server.run(hold("TJP", "JNK"))
  // the ticket may be issued by the outbox sweeper after the payment's answer: wait, so the store is still
  const ticketIssued = await waitUntil(async () => {
    const ticket = await server.run(Effect.either(owner.client.issuance.getTicket({ path: { orderId: issued.orderId } })))
    return ticket._tag === "Right"
  }, issueTimeoutMs)
  if (!ticketIssued) throw new Error("the world's ticket was not issued in time")
  const ticket = await server.run(owner.client.issuance.getTicket({ path: { orderId: issued.orderId } }))
  const wallet = await server.run(owner.client.accounts.getWallet())
  const expiring = await server.run(Effect.flatMap(
    anonymousClient(server.baseUrl), (client) => client.customers.login({ payload: { phone: stranger.phone, password: stranger.password } })
  ))
  await server.run(storeQuery("UPDATE sessions SET expires_at_ms = 0 WHERE token_hash = ?", sha256Hex(expiring.token)))
  const [kiosk, smsGateway, ticketMachine, agent] = await server.run(Effect.all([
    newKiosk(server.baseUrl, "world-kiosk-1", "BJP"), newSmsGateway(server.baseUrl, "world-sms-1"),
    newTicketMachine(server.baseUrl, "world-machine-1", "BJP"), newAgent(server.baseUrl, "world-agent-1")
  ]))
  // the stranger owns no ticket, so its carrier starts (and stays) empty
  const carrier = await server.run(stranger.client.delivery.registerCarrier({ payload: { capacityBytes: 1_024 } }))
  const deviceKeysByPathPrefix = {
    "/gates/": gate.deviceKey, "/kiosk/": kiosk.deviceKey, "/sms/": smsGateway.deviceKey,
    "/ticket-machine/": ticketMachine.deviceKey, "/carrier/": carrier.deviceKey
  }
  await waitForQuietStore(server)
  return {
    stranger, owner, run, gate, deviceKeysByPathPrefix, heldOrderId: held.orderId, issuedOrderId: issued.orderId, ticketId: ticket.ticketId,
    walletFen: wallet.balanceFen, expiredToken: expiring.token, adminKey: server.settings.adminKey, agentSessionToken: agent.token
  }
}

/** Every string the world made that names a row: generators use them so requests reach real rows. */
export const knownValues = (world: World): ReadonlyArray<string> => [
  world.stranger.customerId, world.owner.customerId, world.stranger.phone, world.owner.phone, world.run.runId,
  world.run.serviceDate, ...world.run.stations, world.gate.gateId, world.heldOrderId, world.issuedOrderId, world.ticketId
]

// ---- the store, table by table -----------------------------------------------------------------

/** Every table of the store, migrations' bookkeeping included. */
const tableNames = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () => sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    orElse: () => sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
  })).pipe(Effect.orDie, Effect.map((rows) => rows.map((row) => row.name).sort()))

const canonicalRow = (row: object) =>
  JSON.stringify(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)), (_, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value)

/** table → sha-256 of its rows (sorted, so the order a store returns them in does not matter) */
export type StoreDigest = ReadonlyMap<string, string>

const isPostgres = (sql: SqlClient.SqlClient) => sql.onDialectOrElse({ pg: () => true, orElse: () => false })

export const storeDigest = (server: TestServer): Promise<StoreDigest> =>
  server.run(Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* tableNames
    // PostgreSQL hashes every table in one round trip (a query per table per fuzz case was most of the fuzz's time)
    if (isPostgres(sql)) {
      const rows = yield* sql.unsafe<{ name: string; digest: string }>(tables.map((table) =>
        `SELECT '${table}' AS name, count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') AS digest FROM ${table} t`
      ).join(" UNION ALL ")).pipe(Effect.orDie)
      return new Map(rows.map((row) => [row.name, row.digest]))
    }
    const digest = new Map<string, string>()
    for (const table of tables) {
      const rows = yield* storeQuery<object>(`SELECT * FROM ${table}`)
      const hash = createHash("sha256")
      for (const row of rows.map(canonicalRow).sort()) hash.update(row).update("\n")
      digest.set(table, `${rows.length}:${hash.digest("hex")}`)
    }
    return digest
  }))

/**
 * SQLite's count of rows the server's connection has inserted, updated or deleted since it opened (rolled-back
 * statements included): the same count twice means no row changed in between, and no digest is needed. The
 * in-process test server writes through that one connection. PostgreSQL keeps no such exact count: undefined.
 */
export const storeWriteCount = (server: TestServer): Promise<number | undefined> =>
  server.run(Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    if (isPostgres(sql)) return undefined
    const [row] = yield* storeQuery<{ writes: number }>("SELECT total_changes() AS writes")
    return Number(row?.writes)
  }))

/** The tables whose rows differ, with their row count and hash before → after. */
export const changedTables = (before: StoreDigest, after: StoreDigest): ReadonlyArray<string> =>
  [...new Set([...before.keys(), ...after.keys()])]
    .filter((table) => before.get(table) !== after.get(table))
    .map((table) => `${table}: ${before.get(table) ?? "absent"} → ${after.get(table) ?? "absent"}`)

const quietPollMs = 250
const quietForMs = 1_500
const quietTimeoutMs = 20_000

/**
 * Waits until no table changes for `quietForMs`: background work set off by the world (issuing, delivering
 * a ticket) must be over before a test can say a request changed nothing. Throws naming the tables that
 * kept changing.
 */
export const waitForQuietStore = async (server: TestServer) => {
  const deadlineMs = performance.now() + quietTimeoutMs
  let last = await storeDigest(server)
  let quietSinceMs = performance.now()
  while (performance.now() - quietSinceMs < quietForMs) {
    if (performance.now() > deadlineMs) {
      throw new Error(`the store never went quiet: ${changedTables(last, await storeDigest(server)).join("; ")}`)
    }
    await new Promise((resolve) => setTimeout(resolve, quietPollMs))
    const next = await storeDigest(server)
    if (changedTables(last, next).length > 0) quietSinceMs = performance.now()
    last = next
  }
}
