import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../Auth/Api.js"

/** train code, service date, or a customer class (seed 002 [0076], [0083]) */
export const StatisticsGrouping = Schema.Literal("train", "service-day", "vip", "region", "age-band")
export type StatisticsGrouping = typeof StatisticsGrouping.Type

export const OrderStatisticsRow = Schema.Struct({
  key: Schema.String,
  /** orders with a captured payment */
  paidOrders: Schema.Number,
  /** of those, orders with money refunded */
  refundedOrders: Schema.Number,
  /** captured payments minus refunds */
  revenueFen: Schema.Number
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
