/**
 * Remote bookings and the call-centre agents who make them (RemoteBookings.ts).
 */
import { Context, Layer } from "effect"

/** remote bookings' hold, card swipes and agents' sessions */
export interface RemoteBookingSettings {
  /**
   * A remote booking (reference/ticketing/RemoteBookings.ts: booked in the app or by a call-centre agent, paid by swiping the
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
}

export const defaultRemoteBookingSettings: RemoteBookingSettings = {
  remoteBookingHoldTtlMs: 2 * 3_600_000,
  maxWrongCardSwipesPerRemoteBooking: 5,
  agentSessionTtlMs: 12 * 3_600_000
}

/** The remote booking settings a server runs with. */
export class RemoteBookingConfig extends Context.Tag("RemoteBookingConfig")<RemoteBookingConfig, RemoteBookingSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<RemoteBookingSettings> = {}) => Layer.succeed(RemoteBookingConfig, { ...defaultRemoteBookingSettings, ...overrides })
}
