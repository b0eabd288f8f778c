/**
 * Customer classes for statistics (seed 002 [0076], [0104]): VIP by what the customer spent, the province
 * and the age band read from the resident ID. Age is taken on the Clock's date in the server's UTC offset.
 * The age band is written once in TypeScript (ageBandOf) and once as SQL over `birth_date`; both follow the
 * same cut-off dates, and a test holds them together.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { FenTotal } from "../../Domain.js"
import { ageBandOf } from "./ResidentId.js"

export const unknownClass = "unknown"

/** "YYYY-MM-DD" of `nowMs` in the server's fixed UTC offset. */
export const localDateOf = (nowMs: number, utcOffsetMinutes: number) =>
  new Date(nowMs + utcOffsetMinutes * 60_000).toISOString().slice(0, 10)

/** the lower age of each band after the first, as ResidentId.ageBandOf cuts them */
const bandStarts = [
  { years: 60, band: "60+" }, { years: 45, band: "45-59" }, { years: 30, band: "30-44" }, { years: 18, band: "18-29" }
] as const
const youngestBand = "under-18"

/**
 * Born on or before this date → at least `years` old on `todayIso`. (ISO dates compare as strings; for a
 * birthday of 29 February the cut-off "YYYY-02-29" of a common year still sorts where ageBandOf puts it.)
 */
const bornOnOrBefore = (todayIso: string, years: number) =>
  `${String(Number(todayIso.slice(0, 4)) - years).padStart(4, "0")}${todayIso.slice(4)}`

/** SQL CASE giving the age band of the ISO date in `column` (which may be NULL: unknown). */
export const ageBandSql = (sql: SqlClient.SqlClient, column: string, todayIso: string) => {
  const whens = bandStarts.map(({ years, band }) =>
    sql`WHEN ${sql.literal(column)} <= ${bornOnOrBefore(todayIso, years)} THEN ${band}`)
  return sql`CASE WHEN ${sql.literal(column)} IS NULL THEN ${unknownClass} ${sql.join(" ", false)(whens)} ELSE ${youngestBand} END`
}

export interface CustomerClass {
  readonly vip: boolean
  readonly region: string
  readonly ageBand: string
}

export const classOf = (
  customer: { readonly province: string | null; readonly birth_date: string | null },
  netSpendFen: FenTotal,
  vipSpendThresholdFen: number,
  todayIso: string
): CustomerClass => ({
  vip: netSpendFen >= vipSpendThresholdFen,
  region: customer.province ?? unknownClass,
  ageBand: customer.birth_date === null ? unknownClass : ageBandOf(customer.birth_date, todayIso)
})
