/**
 * When a run stops selling: its boarding stop's departure (a train) or its start (a showing, an event) less
 * the close time of its kind (reference/Config.ts). Every path that takes a seat for money asks this — a hold,
 * a kiosk sale, an SMS BUY, a group order, a change onto the run — and the catalog's offers show it.
 */
import { departureEpochMs } from "../../delivery/Checkin.js"
import type { CalendarSettings } from "../../Settings/Calendar.js"

export type RunKind = "train" | "showing" | "event"

export const salesCloseBeforeMs = (config: CalendarSettings, kind: RunKind) =>
  kind === "train" ? config.salesCloseBeforeDepartureMs : config.venueSalesCloseBeforeStartMs

/** Epoch ms from which nothing more is sold from the stop leaving at `departureMinuteOfDay` of `serviceDate`. */
export const salesCloseAtMs = (config: CalendarSettings, kind: RunKind, serviceDate: string, departureMinuteOfDay: number) =>
  departureEpochMs(serviceDate, departureMinuteOfDay, config.utcOffsetMinutes) - salesCloseBeforeMs(config, kind)

/** Whether a hold at `nowMs` may still take a seat: sales close at `closeAtMs` itself. */
export const onSaleAt = (nowMs: number, closeAtMs: number) => nowMs < closeAtMs
