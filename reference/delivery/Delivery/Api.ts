import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth, CustomerAuth } from "../../customers/Auth/Api.js"
import { FenTotal, OrderId, OrderNotFound, PhoneNumber, RunId, TicketId, TicketNotIssued } from "../../Domain.js"
import { CarrierAuth, TicketMachineAuth } from "./Auth.js"
import {
  CarrierNeedsPhone, InvalidCarrierCapacity, InvalidVoucherCode, TicketNotOnCarrier, VoucherAlreadyRedeemed, VoucherNotFound, VoucherNotRedeemable
} from "./Errors.js"

/** a generous bound for the schema; the server's settings hold the real 1–2 KB range (seed 003) */
const maxCapacityBytesAccepted = 65_536
/** more tickets than any carrier holds, so one call names them all */
const maxTicketIdsPerCall = 64

export const CarrierTicket = Schema.Struct({
  ticketId: TicketId,
  /** the signed ticket text to store on the SIM */
  qr: Schema.String,
  /** false until the carrier acknowledged writing it (a pending migration) */
  written: Schema.Boolean
})

export const CarrierState = Schema.Struct({
  msisdn: PhoneNumber,
  capacityBytes: Schema.Number,
  capacitySlots: Schema.Number,
  usedSlots: Schema.Number,
  /** what the carrier holds, oldest first, including tickets still to be written */
  tickets: Schema.Array(CarrierTicket),
  /** tickets waiting in the network ticket box for a free slot */
  inBox: Schema.Number
})
export type CarrierState = typeof CarrierState.Type

const TicketIds = Schema.Struct({ ticketIds: Schema.Array(TicketId).pipe(Schema.maxItems(maxTicketIdsPerCall)) })

export const Voucher = Schema.Struct({
  ticketId: TicketId,
  orderId: OrderId,
  /** 12 digits, the last a Luhn check digit */
  code: Schema.String,
  /** the code in groups of four, as printed */
  display: Schema.String,
  redeemedAtMs: Schema.NullOr(Schema.Number)
})
export type Voucher = typeof Voucher.Type

export const Redemption = Schema.Struct({
  ticketId: TicketId,
  orderId: OrderId,
  runId: RunId,
  serviceDate: Schema.String,
  fromStation: Schema.String,
  toStation: Schema.String,
  coach: Schema.Number,
  seatCode: Schema.String,
  priceFen: FenTotal,
  redeemedAtMs: Schema.Number,
  machineId: Schema.String
})
export type Redemption = typeof Redemption.Type

export const MachineId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/))

export class DeliveryApi extends HttpApiGroup.make("delivery")
  .add(
    HttpApiEndpoint.post("registerCarrier", "/carriers")
      .setPayload(Schema.Struct({ capacityBytes: Schema.Int.pipe(Schema.between(1, maxCapacityBytesAccepted)) }))
      .addSuccess(Schema.Struct({ deviceKey: Schema.String, carrier: CarrierState }), { status: 201 })
      .addError(InvalidCarrierCapacity)
      .addError(CarrierNeedsPhone)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.get("carrierTickets", "/carrier/tickets")
      .addSuccess(CarrierState)
      .middleware(CarrierAuth)
  )
  .add(
    HttpApiEndpoint.post("acknowledgeWritten", "/carrier/written")
      .setPayload(TicketIds)
      .addSuccess(CarrierState)
      .addError(TicketNotOnCarrier)
      .middleware(CarrierAuth)
  )
  .add(
    HttpApiEndpoint.post("reportRemoved", "/carrier/removed")
      .setPayload(TicketIds)
      .addSuccess(CarrierState)
      .addError(TicketNotOnCarrier)
      .middleware(CarrierAuth)
  )
  .add(
    HttpApiEndpoint.get("getVoucher", "/orders/:orderId/voucher")
      .setPath(Schema.Struct({ orderId: OrderId }))
      .addSuccess(Voucher)
      .addError(OrderNotFound)
      .addError(TicketNotIssued)
      .middleware(CustomerAuth)
  )
  .add(
    HttpApiEndpoint.post("registerTicketMachine", "/admin/ticket-machines")
      .setPayload(Schema.Struct({ machineId: MachineId, venue: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)) }))
      .addSuccess(Schema.Struct({ machineId: Schema.String, deviceKey: Schema.String }), { status: 201 })
      .middleware(AdminAuth)
  )
  .add(
    HttpApiEndpoint.post("redeemVoucher", "/ticket-machine/redemptions")
      .setPayload(Schema.Struct({ code: Schema.String.pipe(Schema.maxLength(32)) }))
      .addSuccess(Redemption, { status: 201 })
      .addError(InvalidVoucherCode)
      .addError(VoucherNotFound)
      .addError(VoucherAlreadyRedeemed)
      .addError(VoucherNotRedeemable)
      .middleware(TicketMachineAuth)
  ) {}
