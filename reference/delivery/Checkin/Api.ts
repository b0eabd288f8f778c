import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { GateAuth } from "../../customers/Auth/Api.js"
import {
  BindingMismatch, InvalidTicket, StationCode, TicketAlreadyUsed, TicketForAnotherTrain, TicketId, TicketNotValidHere
} from "../../Domain.js"

export const ScanRequest = Schema.Struct({
  /** the decoded QR text */
  qr: Schema.String.pipe(Schema.maxLength(2048)),
  /** the phone number (or device ID) the passenger's device presents at the gate */
  presentedHolder: Schema.String.pipe(Schema.maxLength(96))
})

export const Admission = Schema.Struct({
  ticketId: TicketId,
  admittedAtMs: Schema.Number,
  coach: Schema.Number,
  seatCode: Schema.String,
  fromStation: StationCode,
  toStation: StationCode
})
export type Admission = typeof Admission.Type

export class CheckinApi extends HttpApiGroup.make("checkin")
  .add(
    HttpApiEndpoint.post("scan", "/gates/scans")
      .setPayload(ScanRequest)
      .addSuccess(Admission, { status: 201 })
      .addError(InvalidTicket)
      .addError(TicketAlreadyUsed)
      .addError(TicketNotValidHere)
      .addError(TicketForAnotherTrain)
      .addError(BindingMismatch)
      .middleware(GateAuth)
  ) {}
