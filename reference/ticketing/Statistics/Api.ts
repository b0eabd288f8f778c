import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { FenDelta } from "../../Domain.js"
import { AdminAuth } from "../../customers/Auth/Api.js"

/**
 * train code, service date, a customer class (seed 002 [0076], [0083]), or the journey (seed 002 [0079]: origin,
 * destination, departure time): `route` is "origin→destination" by station code ("BJP→TJP"; a venue's run is
 * "WDA→WDA"), `hour-of-day` the boarding stop's departure hour, local time, "00:00" to "23:00"
 */
export const StatisticsGrouping = Schema.Literal("train", "service-day", "vip", "region", "age-band", "route", "hour-of-day")
export type StatisticsGrouping = typeof StatisticsGrouping.Type

export const OrderStatisticsRow = Schema.Struct({
  key: Schema.String,
  /** orders sold: paid (a captured payment), or changed in from a sold ticket, whose payment they keep */
  paidOrders: Schema.Number,
  /** of those, orders cancelled after payment and refunded */
  refundedOrders: Schema.Number,
  /** of those, orders changed to another train or date (改签): the order they became is sold in its own group */
  changedOrders: Schema.Number,
  /**
   * money the centre kept from the group's orders: captured payments and change charges minus refunds (fen). Signed: a
   * change to a cheaper journey returns the difference on the new order, which keeps the old order's payment, so a
   * group holding the new order and not the old one (another route, hour or day) can have given back more than it took
   */
  revenueFen: FenDelta
})

export const OrderStatistics = Schema.Struct({
  groupedBy: StatisticsGrouping,
  /** the date customer classes (age, VIP) are taken at: today in the server's UTC offset */
  asOfDate: Schema.String,
  rows: Schema.Array(OrderStatisticsRow)
})
export type OrderStatistics = typeof OrderStatistics.Type

export class StatisticsApi extends HttpApiGroup.make("statistics")
  .add(
    HttpApiEndpoint.get("orderStatistics", "/admin/statistics/orders")
      .setUrlParams(Schema.Struct({ by: StatisticsGrouping }))
      .addSuccess(OrderStatistics)
  )
  .middleware(AdminAuth) {}
