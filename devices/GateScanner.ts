/**
 * A gate scanner (seed 000's check-in, seed 003's reader): reads what the phone shows — camera pixels,
 * decoded with jsQR, or the text when the scenario does not sample pixels — and asks the server to admit.
 */
import { Effect } from "effect"
import type { Admission } from "../reference/Checkin/Api.js"
import type { ApiClient } from "./Client.js"
import { decodeQr } from "./Qr.js"
import type { PixelImage } from "./Qr.js"

export type PhoneDisplay =
  | { readonly kind: "pixels"; readonly image: PixelImage }
  | { readonly kind: "text"; readonly text: string }

export class UnreadableCode {
  readonly _tag = "UnreadableCode"
}

type ScanError = Effect.Effect.Error<ReturnType<ApiClient["checkin"]["scan"]>>

export interface GateScanner {
  readonly gateId: string
  readonly station: string
  readonly scan: (display: PhoneDisplay, presentedHolder: string) => Effect.Effect<Admission, ScanError | UnreadableCode>
}

export const makeGateScanner = (client: ApiClient, gateId: string, station: string): GateScanner => ({
  gateId,
  station,
  scan: (display, presentedHolder) =>
    Effect.gen(function* () {
      const text = display.kind === "pixels" ? decodeQr(display.image) : display.text
      if (text === undefined) return yield* Effect.fail(new UnreadableCode())
      return yield* client.checkin.scan({ payload: { qr: text, presentedHolder } })
    })
})
