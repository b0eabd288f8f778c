/**
 * Order statistics for the operator (seed 002 [0021], [0083]: orders counted and classified; [0076]:
 * customers classed by region, age and booking history; [0079]: tickets classed by origin, destination and
 * departure time). Grouped by train, service day, customer class, route (origin→destination) or the boarding
 * stop's departure hour.
 *
 * An order counts as sold once it was paid (`paid_at_ms`: a captured payment, or a change of train that moved
 * a paid ticket onto it); of the sold ones, those refunded and those changed away are counted apart. Money comes
 * from the ledger, not from order states: a group's revenue is what reached the centre's account for its orders
 * minus what left it again, each transfer counted on the order it names — a cancel's refund on the refunded
 * order, a change's fare difference (charged or returned) on the order the ticket moved to. An order that was
 * never sold but whose money came and went (a late gateway capture, refunded at once) adds nothing.
 * A customer's class is the one they have now (as of the Clock's date), not the one they had when they ordered.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"
import { centreAccountId } from "../payments/Accounts/Repo.js"
import { FenDelta } from "../Domain.js"
import { CustomerConfig } from "../Settings/Customers.js"
import { CalendarConfig } from "../Settings/Calendar.js"
import { ageBandSql, localDateOf, unknownClass } from "../customers/Customers/Classification.js"
import type { OrderStatistics, StatisticsGrouping } from "./Statistics/Api.js"
import { spanOptions } from "../Spans.js"

/** a departure hour as its bucket's name: 7 → "07:00" */
export const hourBucketOf = (hour: number) => `${String(hour).padStart(2, "0")}:00`

export class Statistics extends Effect.Service<Statistics>()("Statistics", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const customerSettings = yield* CustomerConfig
    const calendarSettings = yield* CalendarConfig

    const groupKey = (by: StatisticsGrouping, asOfDate: string) => {
      switch (by) {
        case "train": return sql`r.train_code`
        case "service-day": return sql`r.service_date`
        case "vip": return sql`CASE WHEN COALESCE(s.net_spend_fen, 0) >= ${customerSettings.vipSpendThresholdFen} THEN 'vip' ELSE 'regular' END`
        case "region": return sql`COALESCE(c.province, ${unknownClass})`
        case "age-band": return ageBandSql(sql, "c.birth_date", asOfDate)
        case "route": return sql`fs.station_code || '→' || ts.station_code`
        // integer division of minutes by 60 in the SQL text (a bound parameter is a REAL on SQLite); minutes of day past
        // 23:59 (a later stop of a train that runs past midnight) wrap to the next day's hours
        case "hour-of-day": return sql`(fs.departure_minute_of_day / 60) % 24`
      }
    }

    const keyName = (by: StatisticsGrouping, key: unknown) => by === "hour-of-day" ? hourBucketOf(Number(key)) : String(key)

    const orders = (by: StatisticsGrouping) =>
      Effect.gen(function* () {
        const asOfDate = localDateOf(yield* Clock.currentTimeMillis, calendarSettings.utcOffsetMinutes)
        const rows = yield* sql<{
          group_key: string | number; sold_orders: number | string; refunded_orders: number | string; changed_orders: number | string
          revenue_fen: number | string
        }>`
          WITH order_money AS (
            SELECT t.order_id AS order_id,
              SUM(CASE WHEN t.credit_account_id = ${centreAccountId} THEN t.amount_fen ELSE 0 END) AS paid_fen,
              SUM(CASE WHEN t.debit_account_id = ${centreAccountId} THEN t.amount_fen ELSE 0 END) AS refunded_fen
            FROM transfers t WHERE t.order_id IS NOT NULL GROUP BY t.order_id),
          customer_spend AS (
            SELECT o.customer_id AS customer_id, SUM(m.paid_fen - m.refunded_fen) AS net_spend_fen
            FROM order_money m JOIN orders o ON o.id = m.order_id GROUP BY o.customer_id)
          SELECT group_key, SUM(sold) AS sold_orders,
            SUM(CASE WHEN sold = 1 AND state = 'refunded' THEN 1 ELSE 0 END) AS refunded_orders,
            SUM(CASE WHEN sold = 1 AND state = 'changed' THEN 1 ELSE 0 END) AS changed_orders,
            SUM(net_fen) AS revenue_fen
          FROM (SELECT ${groupKey(by, asOfDate)} AS group_key, o.state AS state,
              CASE WHEN o.paid_at_ms IS NULL THEN 0 ELSE 1 END AS sold,
              COALESCE(m.paid_fen, 0) - COALESCE(m.refunded_fen, 0) AS net_fen
            FROM orders o JOIN train_runs r ON r.id = o.run_id
              JOIN run_stops fs ON fs.run_id = o.run_id AND fs.stop_index = o.from_index
              JOIN run_stops ts ON ts.run_id = o.run_id AND ts.stop_index = o.to_index
              JOIN customers c ON c.id = o.customer_id
              LEFT JOIN order_money m ON m.order_id = o.id
              LEFT JOIN customer_spend s ON s.customer_id = o.customer_id
            WHERE o.paid_at_ms IS NOT NULL OR m.order_id IS NOT NULL) keyed
          GROUP BY group_key HAVING SUM(sold) > 0 ORDER BY group_key`
        const result: OrderStatistics = {
          groupedBy: by, asOfDate,
          rows: rows.map((row) => ({
            key: keyName(by, row.group_key), paidOrders: Number(row.sold_orders), refundedOrders: Number(row.refunded_orders),
            changedOrders: Number(row.changed_orders), revenueFen: FenDelta.make(Number(row.revenue_fen))
          }))
        }
        return result
      }).pipe(Effect.withSpan("Statistics.orders", spanOptions))

    return { orders } as const
  })
}) {}
