/**
 * Order statistics for the operator (seed 002 [0021], [0083]: orders counted and classified; [0076]:
 * customers classed by region, age and booking history). Money comes from the ledger, not from order
 * states: an order counts once it has a captured payment, and its revenue is what reached the centre's
 * account minus what left it again as refunds. A customer's class is the one they have now (as of the
 * Clock's date), not the one they had when they ordered.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { centreAccountId } from "./Accounts/Repo.js"
import { ServerConfig } from "./Config.js"
import { ageBandSql, localDateOf, unknownClass } from "./Customers/Classification.js"
import type { OrderStatistics, StatisticsGrouping } from "./Statistics/Api.js"

export class Statistics extends Effect.Service<Statistics>()("Statistics", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* ServerConfig

    const groupKey = (by: StatisticsGrouping, asOfDate: string) => {
      switch (by) {
        case "train": return sql`r.train_code`
        case "service-day": return sql`r.service_date`
        case "vip": return sql`CASE WHEN COALESCE(s.net_spend_fen, 0) >= ${config.vipSpendThresholdFen} THEN 'vip' ELSE 'regular' END`
        case "region": return sql`COALESCE(c.province, ${unknownClass})`
        case "age-band": return ageBandSql(sql, "c.birth_date", asOfDate)
      }
    }

    const orders = (by: StatisticsGrouping) =>
      Effect.gen(function* () {
        const asOfDate = localDateOf(yield* Clock.currentTimeMillis, config.utcOffsetMinutes)
        const rows = yield* sql<{ group_key: string; paid_orders: number | string; refunded_orders: number | string; revenue_fen: number | string }>`
          WITH order_money AS (
            SELECT t.order_id AS order_id,
              SUM(CASE WHEN t.credit_account_id = ${centreAccountId} THEN t.amount_fen ELSE 0 END) AS paid_fen,
              SUM(CASE WHEN t.debit_account_id = ${centreAccountId} THEN t.amount_fen ELSE 0 END) AS refunded_fen
            FROM transfers t WHERE t.order_id IS NOT NULL GROUP BY t.order_id),
          customer_spend AS (
            SELECT o.customer_id AS customer_id, SUM(m.paid_fen - m.refunded_fen) AS net_spend_fen
            FROM order_money m JOIN orders o ON o.id = m.order_id GROUP BY o.customer_id)
          SELECT group_key, COUNT(*) AS paid_orders,
            SUM(CASE WHEN refunded_fen > 0 THEN 1 ELSE 0 END) AS refunded_orders,
            SUM(paid_fen - refunded_fen) AS revenue_fen
          FROM (SELECT ${groupKey(by, asOfDate)} AS group_key, m.paid_fen AS paid_fen, m.refunded_fen AS refunded_fen
            FROM order_money m JOIN orders o ON o.id = m.order_id JOIN train_runs r ON r.id = o.run_id
              JOIN customers c ON c.id = o.customer_id LEFT JOIN customer_spend s ON s.customer_id = o.customer_id
            WHERE m.paid_fen > 0) keyed
          GROUP BY group_key ORDER BY group_key`
        const result: OrderStatistics = {
          groupedBy: by, asOfDate,
          rows: rows.map((row) => ({
            key: String(row.group_key), paidOrders: Number(row.paid_orders),
            refundedOrders: Number(row.refunded_orders), revenueFen: Number(row.revenue_fen)
          }))
        }
        return result
      }).pipe(Effect.withSpan("Statistics.orders"))

    return { orders } as const
  })
}) {}
