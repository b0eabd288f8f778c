/**
 * What a device's history keeps of an answer that holds it a seat, beyond the coach and seat (`coach`, `seat`):
 * the run and the segment (`runId`, `from`, `to`). The history audit (simulator/audits/FromHistory.ts) compares
 * them to find two clients told they hold one seat on overlapping segments of one run.
 */
export const heldSeatDetail = (held: { readonly runId: string; readonly fromStation: string; readonly toStation: string }) =>
  ({ runId: held.runId, from: held.fromStation, to: held.toStation })
