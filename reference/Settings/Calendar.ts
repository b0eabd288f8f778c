/**
 * The service calendar: the time zone of service dates and minutes of day, and how long before a run
 * leaves (or a showing or event starts) its sales close (Orders/SalesClose.ts and every module that turns
 * a service date into an instant).
 */
import { Context, Layer } from "effect"

/** time zone and sales close */
export interface CalendarSettings {
  /**
   * Sales close: a hold (and a group order, an SMS BUY, a kiosk sale, a change onto the run) is refused with
   * `SalesClosed` from this long before the boarding stop's departure (train) or the start (showing, event)
   */
  readonly salesCloseBeforeDepartureMs: number
  readonly venueSalesCloseBeforeStartMs: number
  /** service dates and minutes of day are in China Standard Time */
  readonly utcOffsetMinutes: number
}

export const defaultCalendarSettings: CalendarSettings = {
  // Online sales close a short time before the boarding station's departure (12306's own cut-off varies; we
  // did not verify its current value): 5 minutes, roughly what a last-moment buyer needs to reach the
  // platform. Not 30: the test helpers' "departing soon" runs leave in half an hour and are bought from
  // throughout a test file's run.
  salesCloseBeforeDepartureMs: 5 * 60_000,
  // a cinema or a venue's box office sells until the show starts (a latecomer is still admitted)
  venueSalesCloseBeforeStartMs: 0,
  utcOffsetMinutes: 8 * 60
}

/** The calendar settings a server runs with. */
export class CalendarConfig extends Context.Tag("CalendarConfig")<CalendarConfig, CalendarSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<CalendarSettings> = {}) => Layer.succeed(CalendarConfig, { ...defaultCalendarSettings, ...overrides })
}
