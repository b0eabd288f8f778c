/**
 * Server settings. Every limit is named with its unit last. The simulation and `chunyun serve` both
 * build one of these; nothing in the server reads the environment directly.
 */
import { Context, Layer } from "effect"
import type { CrashAt } from "./FaultPoints.js"
import type { InventoryVariant } from "./Inventory.js"
import type { HoldBatching } from "./Inventory/Lanes.js"
import type { IssuanceVariant } from "./Issuance.js"
import type { RefundFeeTier } from "./Lifecycle/Fees.js"

/** PostgreSQL connections a server process keeps (pg's own default), and the most it may ask for (PostgreSQL's default max_connections) */
export const defaultStoreMaxConnections = 10
export const maxStoreConnections = 100

export const plantedBugs = ["none", "no-idempotency-check", "ticket-never-delivered", "gate-admits-used-ticket"] as const
export type PlantedBug = typeof plantedBugs[number]

export interface ServerSettings {
  readonly holdTtlMs: number
  readonly sessionTtlMs: number
  /** scrypt cost parameter N (power of two). 16384 is Node's default; a scenario may lower it and says so */
  readonly passwordHashCostN: number
  /**
   * Where the server's crypto runs (scrypt password hashes, Ed25519 ticket signatures): on libuv's thread pool (a real
   * server: the event loop serves other requests meanwhile) or on the server's own thread (virtual mode: its
   * one-thread simulation would only sit idle waiting for the pool).
   */
  readonly cryptoWork: "thread-pool" | "inline"
  /** payment-password attempts counted (each before its check) until a right one gives them back; then payments lock */
  readonly maxPaymentPasswordFailures: number
  /** login-password attempts counted (each before its check) until a right one gives them back; then logins lock */
  readonly maxLoginPasswordFailures: number
  /** how long logins stay locked after the attempt that reached `maxLoginPasswordFailures` */
  readonly loginLockoutMs: number
  /**
   * An attempt refused at the limit waits this long, looking again every `passwordAttemptPollMs`, for attempts
   * still being checked to be given back: concurrent retries of one right password then all pass the count
   */
  readonly passwordAttemptWaitMs: number
  readonly passwordAttemptPollMs: number
  /**
   * The `x-admin-key` of `/admin` endpoints. The default is a public constant for in-process tests and virtual runs
   * only: `chunyun serve` draws its own at start or is given one, and refuses this one (reference/ServeSecrets.ts)
   */
  readonly adminKey: string
  /** how long before departure a gate starts admitting, and how long after it stops */
  readonly checkinOpensBeforeDepartureMs: number
  readonly checkinClosesAfterDepartureMs: number
  /**
   * Sales close: a hold (and a group order, an SMS BUY, a kiosk sale, a change onto the run) is refused with
   * `SalesClosed` from this long before the boarding stop's departure (train) or the start (showing, event)
   */
  readonly salesCloseBeforeDepartureMs: number
  readonly venueSalesCloseBeforeStartMs: number
  /** service dates and minutes of day are in China Standard Time */
  readonly utcOffsetMinutes: number
  readonly outboxSweepIntervalMs: number
  readonly outboxBatchSize: number
  readonly holdSweepIntervalMs: number
  readonly holdSweepBatchSize: number
  /** the most one top-up may bring (`TopUpTooLarge` above it) */
  readonly maxTopUpFen: number
  /** the most a wallet may hold after a top-up (`WalletBalanceLimitReached` above it); refunds may still credit it */
  readonly maxWalletBalanceFen: number
  /** how a hold takes a seat (reference/Inventory.ts) */
  readonly inventory: InventoryVariant
  /** the unsafe inventory double-books by design: only with this set (`--unsafe`) */
  readonly allowUnsafeInventory: boolean
  /**
   * A bug planted on purpose, for the mutation tests only (simulator/Mutation.test.ts): proof that the auditor
   * reports what it exists to catch. Never read from the command line or the environment.
   * - no-idempotency-check: wallet top-ups and payments neither look up nor store their idempotency key, so a
   *   retried request is executed again (invariant 8)
   * - ticket-never-delivered: a ticket is issued and stored, but `GET /orders/:orderId/ticket` answers
   *   `TicketNotIssued` for every order, so no phone ever holds the ticket it paid for (seen only by clients)
   * - gate-admits-used-ticket: a gate's redemption does not check that the ticket was admitted before, so a
   *   second presentation of a used ticket is admitted again (invariant 5)
   */
  readonly plantedBug: PlantedBug
  // ---- design variants: the waiting queue, group commit of holds, issuance ----
  /** holds a run's waiting queue (inventory "queue") admits behind the one being served; beyond it `HoldQueueFull` */
  readonly maxQueuedHoldsPerRun: number
  /** one transaction per hold request, or the holds of one tick grouped into one transaction (group commit) */
  readonly holdBatching: HoldBatching
  /** group commit: how long the first hold of a group waits for others to join it */
  readonly holdGroupCommitWindowMs: number
  /** group commit: the most holds one transaction takes */
  readonly maxHoldsPerGroupCommit: number
  /**
   * Seed 004's client priority: a hold of a chosen seat that arrives less than this long after the seat's hold by
   * another customer ties with it, and the device whose app was installed earlier wins the seat (reference/Orders/
   * SeatPriority.ts). 0: no ties, the first hold wins
   */
  readonly seatClaimTieWindowMs: number
  /** who issues the ticket of a captured payment (reference/Issuance.ts): see `IssuanceVariant` */
  readonly issuance: IssuanceVariant
  // customers: classification and invoices (seeds 000 [0029], 002 [0076])
  /** a customer whose net spend (captured payments minus refunds) reaches this is VIP */
  readonly vipSpendThresholdFen: number
  /** an invoice is issued each time a customer's net spend since their last invoice reaches this */
  readonly invoiceSpendThresholdFen: number
  // ---- catalog: showings, events, seat maps ----
  /** cinema gates admit from this long before a showing starts until this long after (latecomers) */
  readonly showingCheckinOpensBeforeStartMs: number
  readonly showingCheckinClosesAfterStartMs: number
  /** event gates open earlier (crowds) and stay open longer than a cinema's */
  readonly eventCheckinOpensBeforeStartMs: number
  readonly eventCheckinClosesAfterStartMs: number
  /** seat-map thumbnail: one seat is a square of this many pixels, plus one pixel of spacing */
  readonly seatMapThumbnailSeatPx: number
  // ---- lifecycle: cancel, refund, change (reference/Lifecycle.ts) ----
  /** refund fee by time before the boarding stop's departure; no refund once departed or admitted */
  readonly refundFeeTiers: ReadonlyArray<RefundFeeTier>
  /** a fee is rounded to the nearest multiple of this, half up (12306 rounds to 5 jiao) */
  readonly refundFeeRoundingFen: number
  /** the least fee a tier with a non-zero rate charges (12306: 2 yuan) */
  readonly minRefundFeeFen: number
  /** how many times one ticket may be changed to another train or date (12306: once) */
  readonly maxChangesPerTicket: number
  /** the newest entries a wallet statement shows */
  readonly maxStatementEntries: number
  // ---- payments: two-phase transfers, kiosks, bank, gateway --------------------------------
  /** a card reservation not captured by then (a crash between authorise and capture) is voided */
  readonly cardAuthorisationTimeoutMs: number
  /** a gateway reservation the reconciler has not settled by then is voided; a later success is refunded or issued */
  readonly gatewayPaymentTimeoutMs: number
  /** the reconciler polls the gateway for charges pending longer than this (their callback may be lost) */
  readonly gatewayReconcileAfterMs: number
  readonly gatewayReconcileIntervalMs: number
  readonly gatewayReconcileBatchSize: number
  readonly pendingTransferSweepIntervalMs: number
  readonly pendingTransferSweepBatchSize: number
  /**
   * shared with the gateway: the HMAC-SHA256 key of its notifications. A public constant by default, as `adminKey`,
   * for in-process use only. A signature alone settles nothing: the gateway's own record of the charge must agree
   */
  readonly gatewayWebhookSecret: string
  /** a notification sent longer ago than this (or this far ahead of our clock) is refused as stale */
  readonly gatewayCallbackMaxAgeMs: number
  readonly kioskPrintJobsBatchSize: number
  /**
   * A remote booking (reference/RemoteBookings.ts: booked in the app or by a call-centre agent, paid by swiping the
   * booked card at a kiosk) stays held this long for its booker to reach a kiosk; never past the run's sales close
   */
  readonly remoteBookingHoldTtlMs: number
  /**
   * Swipes of other cards a remote booking answers `CardNotBooked`; from then on it takes no swipe at all
   * (`RemoteBookingLocked`), the booked card's neither: a kiosk shows the booked card's BIN and last four, and
   * without a limit the refusals would let a device try the six unknown digits of its number one by one
   */
  readonly maxWrongCardSwipesPerRemoteBooking: number
  /** how long a call-centre agent's session lasts (a shift); wrong agent passwords count as `maxLoginPasswordFailures` */
  readonly agentSessionTtlMs: number
  /** the simulated bank's answer time for an authorisation: this, plus up to the jitter drawn from Random */
  readonly simulatedBankLatencyMs: number
  readonly simulatedBankLatencyJitterMs: number
  /** wrong PINs in a row after which the simulated bank blocks a card (`pin-tries-exceeded`); a right PIN before then clears the count */
  readonly simulatedBankMaxWrongPins: number
  /** the simulated gateway's notification delays: on time, and late */
  readonly simulatedGatewayCallbackDelayMs: number
  readonly simulatedGatewayLateCallbackDelayMs: number
  readonly simulatedGatewayCallbackIntervalMs: number
  // ---- delivery: SMS channel, delivery after issuance, SIM carriers, vouchers (seeds 000, 002, 003, 004)
  /** tickets one SMS `BUY` may hold at once */
  readonly maxTicketsPerSmsOrder: number
  /** longest text the SMS gateway sends: three concatenated 160-character segments */
  readonly maxSmsTextChars: number
  /** longest inbound text the server parses */
  readonly maxInboundSmsChars: number
  /** texts a gateway device pulls in one page */
  readonly smsOutboundPageSize: number
  /** SMS orders a `STATUS` reply lists */
  readonly smsStatusOrderCount: number
  /** how long a server owns a delivery job before another may retry it */
  readonly deliveryLeaseMs: number
  readonly maxDeliveryAttempts: number
  readonly deliverySweepIntervalMs: number
  readonly deliveryBatchSize: number
  /** storage one ticket takes on a SIM carrier (seed 003: about 255 B) */
  readonly carrierTicketSlotBytes: number
  /** a SIM reserves 1–2 KB for tickets (seed 003) */
  readonly minCarrierCapacityBytes: number
  readonly maxCarrierCapacityBytes: number
  /** tries to draw a voucher code no other ticket has */
  readonly maxVoucherCodeAttempts: number
  /** tries to draw an SMS order reference the customer has not used */
  readonly maxSmsOrderRefAttempts: number
  /** an inbound text claimed this long ago and still unanswered (its server died) may be answered by a retry */
  readonly smsInboundClaimTimeoutMs: number
  /** a BUY claimed this long ago and still unfiled (its server died mid-hold) may be taken over by the same BUY sent again */
  readonly smsBuyClaimTimeoutMs: number
  /** how long a BUY waits for the same BUY that another text is holding seats for at that moment, and how often it looks */
  readonly maxSmsBuyWaitMs: number
  readonly smsBuyWaitPollMs: number
  // ---- operations: crash points, backups, offline gates, upstream sync ----
  /** the fault point whose hit kills the process (crash test only; unset in every real run) */
  readonly crashAt?: CrashAt
  /** where `POST /admin/backups` writes its files */
  readonly backupDirectory: string
  /** push issued seats to the upstream system (reference/Upstream.ts); off unless a run is synced with one */
  readonly upstreamSync: boolean
  readonly upstreamPushIntervalMs: number
  readonly upstreamPushBatchSize: number
  /** how long a process that took a row to push keeps it from the others */
  readonly upstreamPushLeaseMs: number
  readonly upstreamRetryBackoffMs: number
  /** after this many failed pushes a row is abandoned and reported */
  readonly maxUpstreamPushAttempts: number
  // ---- bad input ----
  /** a request body longer than this is refused with 413 before it is parsed */
  readonly maxRequestBodyBytes: number
  /** error messages name the offending path, route or header (never a field's value); longer ones are cut to this many characters */
  readonly maxErrorMessageChars: number
  /** arrays and objects a JSON body may nest: a deeper body is refused before it is parsed (decoding recurses) */
  readonly maxJsonDepth: number
  /**
   * A request not answered by then (wall time) is answered `RequestTimedOut` (503). 0 turns it off: virtual mode,
   * where the simulated clock decides how long anything takes
   */
  readonly requestTimeoutMs: number
}

export const defaultSettings: ServerSettings = {
  holdTtlMs: 10 * 60_000,
  sessionTtlMs: 24 * 3_600_000,
  passwordHashCostN: 16_384,
  cryptoWork: "thread-pool",
  maxPaymentPasswordFailures: 5,
  maxLoginPasswordFailures: 10,
  loginLockoutMs: 15 * 60_000,
  passwordAttemptWaitMs: 2_000,
  passwordAttemptPollMs: 25,
  adminKey: "chunyun-admin",
  checkinOpensBeforeDepartureMs: 2 * 3_600_000,
  checkinClosesAfterDepartureMs: 5 * 60_000,
  // Online sales close a short time before the boarding station's departure (12306's own cut-off varies; we
  // did not verify its current value): 5 minutes, roughly what a last-moment buyer needs to reach the
  // platform. Not 30: the test helpers' "departing soon" runs leave in half an hour and are bought from
  // throughout a test file's run.
  salesCloseBeforeDepartureMs: 5 * 60_000,
  // a cinema or a venue's box office sells until the show starts (a latecomer is still admitted)
  venueSalesCloseBeforeStartMs: 0,
  utcOffsetMinutes: 8 * 60,
  outboxSweepIntervalMs: 1_000,
  outboxBatchSize: 100,
  holdSweepIntervalMs: 5_000,
  holdSweepBatchSize: 200,
  maxTopUpFen: 5_000_000,
  // 1 million yuan: twenty of the largest top-ups
  maxWalletBalanceFen: 100_000_000,
  inventory: "conditional",
  allowUnsafeInventory: false,
  plantedBug: "none",
  maxQueuedHoldsPerRun: 5_000,
  holdBatching: "per-request",
  holdGroupCommitWindowMs: 2,
  maxHoldsPerGroupCommit: 64,
  // two taps a tenth of a second apart are one moment to the people making them; a hold stands after that
  seatClaimTieWindowMs: 100,
  issuance: "inline",
  // customers
  vipSpendThresholdFen: 500_000,
  invoiceSpendThresholdFen: 100_000,
  // catalog
  showingCheckinOpensBeforeStartMs: 30 * 60_000,
  showingCheckinClosesAfterStartMs: 20 * 60_000,
  eventCheckinOpensBeforeStartMs: 3 * 3_600_000,
  eventCheckinClosesAfterStartMs: 60 * 60_000,
  seatMapThumbnailSeatPx: 3,
  // lifecycle: 12306's schedule (2024): 8 days or more free, 48 h–8 days 5 %, 24–48 h 10 %, under 24 h 20 %
  refundFeeTiers: [
    { minMsBeforeDeparture: 8 * 24 * 3_600_000, feeBasisPoints: 0 },
    { minMsBeforeDeparture: 48 * 3_600_000, feeBasisPoints: 500 },
    { minMsBeforeDeparture: 24 * 3_600_000, feeBasisPoints: 1_000 },
    { minMsBeforeDeparture: 0, feeBasisPoints: 2_000 }
  ],
  refundFeeRoundingFen: 50,
  minRefundFeeFen: 200,
  maxChangesPerTicket: 1,
  maxStatementEntries: 200,
  // payments
  cardAuthorisationTimeoutMs: 60_000,
  gatewayPaymentTimeoutMs: 15 * 60_000,
  gatewayReconcileAfterMs: 60_000,
  gatewayReconcileIntervalMs: 10_000,
  gatewayReconcileBatchSize: 100,
  pendingTransferSweepIntervalMs: 5_000,
  pendingTransferSweepBatchSize: 200,
  gatewayWebhookSecret: "chunyun-gateway-secret",
  gatewayCallbackMaxAgeMs: 5 * 60_000,
  kioskPrintJobsBatchSize: 20,
  remoteBookingHoldTtlMs: 2 * 3_600_000,
  maxWrongCardSwipesPerRemoteBooking: 5,
  agentSessionTtlMs: 12 * 3_600_000,
  simulatedBankLatencyMs: 0,
  simulatedBankLatencyJitterMs: 0,
  simulatedBankMaxWrongPins: 3,
  simulatedGatewayCallbackDelayMs: 0,
  simulatedGatewayLateCallbackDelayMs: 30_000,
  simulatedGatewayCallbackIntervalMs: 1_000,
  // delivery
  maxTicketsPerSmsOrder: 5,
  maxSmsTextChars: 480,
  maxInboundSmsChars: 160,
  smsOutboundPageSize: 100,
  smsStatusOrderCount: 5,
  deliveryLeaseMs: 30_000,
  maxDeliveryAttempts: 10,
  deliverySweepIntervalMs: 1_000,
  deliveryBatchSize: 100,
  carrierTicketSlotBytes: 255,
  minCarrierCapacityBytes: 1_024,
  maxCarrierCapacityBytes: 2_048,
  maxVoucherCodeAttempts: 5,
  maxSmsOrderRefAttempts: 5,
  smsInboundClaimTimeoutMs: 60_000,
  smsBuyClaimTimeoutMs: 60_000,
  maxSmsBuyWaitMs: 5_000,
  smsBuyWaitPollMs: 50,
  backupDirectory: "./data/backups",
  upstreamSync: false,
  upstreamPushIntervalMs: 1_000,
  upstreamPushBatchSize: 50,
  upstreamPushLeaseMs: 10_000,
  upstreamRetryBackoffMs: 2_000,
  maxUpstreamPushAttempts: 20,
  // ---- bad input ----
  maxRequestBodyBytes: 64 * 1024,
  maxErrorMessageChars: 500,
  maxJsonDepth: 64,
  requestTimeoutMs: 30_000,
}

export class ServerConfig extends Context.Tag("ServerConfig")<ServerConfig, ServerSettings>() {
  static readonly layer = (overrides: Partial<ServerSettings> = {}) =>
    Layer.succeed(ServerConfig, { ...defaultSettings, ...overrides })
}
