/**
 * A scenario's cinema (seed 004): its halls and showings, and how its goers behave — the share on an anonymous
 * device, the pull of the hot seats in the middle rows, and `maxSeatAttempts`, the bound on a goer's tries for
 * a chosen seat when another phone takes it first (`SeatTaken` → read the map again, choose again).
 */
import { Schema } from "effect"
import { StationCode, TrainCode } from "../reference/Domain.js"
import { HallInput } from "../reference/ticketing/Venues/Api.js"

const Int = (min: number, max: number) => Schema.Int.pipe(Schema.between(min, max))
const Rate = Schema.Number.pipe(Schema.between(0, 1))

export const Showing = Schema.Struct({
  /** unique per date, like a train code (the run is `<showingCode>-<yyyymmdd>`) */
  showingCode: TrainCode,
  hall: Int(1, 99),
  serviceDate: Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/)),
  startMinuteOfDay: Int(0, 1439),
  film: Schema.Struct({ title: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(60)), durationMinutes: Int(1, 1440) }),
  fares: Schema.Array(Schema.Struct({ seatClass: Schema.Literal("standard", "vip"), fareFen: Int(1, 10_000_000) })).pipe(Schema.minItems(1), Schema.maxItems(2)),
  /** relative weight among the cinema's showings (default 1) */
  popularity: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1_000_000)), { default: () => 1 })
})

export const CinemaSection = Schema.Struct({
  code: StationCode,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(60)),
  city: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(60)),
  halls: Schema.Array(HallInput).pipe(Schema.minItems(1)),
  showings: Schema.Array(Showing).pipe(Schema.minItems(1)),
  /** share of goers whose phone stays anonymous (a device ID, seed 004); the others sign in as registered customers */
  anonymousShare: Rate,
  /**
   * share of anonymous phones whose device ID carries the app's install time (seed 004 [0059]), drawn from the seeded
   * Random: in a tie for a seat the earlier-installed phone wins (reference/ticketing/Orders/SeatPriority.ts). 0 by default
   */
  installTimeShare: Schema.optionalWith(Rate, { default: () => 0 }),
  /** share of goers who want a hot seat: the middle rows, near the centre; the rest take any free seat */
  hotSeatShare: Rate,
  /** a goer picks at random among this many best free seats on the map it read (so two goers may pick the same) */
  seatChoiceWidth: Int(1, 100),
  /** tries for a chosen seat before the goer gives up (each `SeatTaken` reads the map again) */
  maxSeatAttempts: Int(1, 20),
  /** goers reach the hall's gate this long before the showing starts */
  arriveBeforeStartMs: Schema.Struct({ min: Int(0, 7_200_000), max: Int(0, 7_200_000) })
}).pipe(Schema.filter((cinema) => {
  const halls = new Set(cinema.halls.map((hall) => hall.hall))
  const issues: Array<Schema.FilterIssue> = []
  cinema.showings.forEach((showing, index) => {
    if (!halls.has(showing.hall)) issues.push({ path: ["showings", index, "hall"], message: `no hall ${showing.hall} in the cinema` })
  })
  if (cinema.arriveBeforeStartMs.min > cinema.arriveBeforeStartMs.max) issues.push({ path: ["arriveBeforeStartMs"], message: "min must not exceed max" })
  return issues
}))
export type CinemaSection = typeof CinemaSection.Type
