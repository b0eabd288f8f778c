/**
 * What the page and the summary say about an endpoint's errors, worded once for both: the error rate, and each
 * tag with the HTTP status the contract gives it (or "no answer" for a request whose answer never came).
 */
import { formatCount } from "./format.js"
import { backgroundJourney } from "./Report.js"
import type { EndpointFields, ErrorCount, LatencySummary, Report } from "./Report.js"

/** errors per request, in percent; 0 for an endpoint with no requests */
export const errorRatePercent = (endpoint: EndpointFields): number =>
  endpoint.requests > 0 ? (endpoint.errors * 100) / endpoint.requests : 0

/** "1.35 %", "0 %" when none failed, and "< 0.01 %" rather than a rate that rounds a real error away */
export const formatErrorRate = (endpoint: EndpointFields): string => {
  const percent = errorRatePercent(endpoint)
  if (endpoint.errors === 0) return "0 %"
  return percent < 0.01 ? "< 0.01 %" : `${formatCount(percent, 2)} %`
}

/** "409" for a tag the server answers with, "no answer" for a lost answer, a timeout or an unreachable server */
export const statusText = (error: ErrorCount): string => error.status === undefined ? "no answer" : String(error.status)

/** "SeatTaken 409 ×2,022" */
export const errorCountText = (error: ErrorCount): string => `${error.tag} ${statusText(error)} ×${formatCount(error.count)}`

/** a latency row with no sample at all (a stadium run holds no seat) says nothing and is left out */
export const hasSamples = (summary: LatencySummary): boolean => summary.count > 0

/** the passenger journeys (not `backgroundJourney`) the report's endpoints were split by, in the order first met */
export const passengerJourneysOf = (report: Report): ReadonlyArray<string> =>
  [...new Set((report.endpoints ?? []).flatMap((endpoint) => (endpoint.journeys ?? []).map((journey) => journey.journey)))]
    .filter((journey) => journey !== backgroundJourney)
