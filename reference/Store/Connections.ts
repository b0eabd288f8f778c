/**
 * The store's connections as an operator watches them (`GET /metrics`): how many are open, how many of those sit
 * idle, and how many requests wait for one. PostgreSQL's are its pool's (Store/Postgres.ts); SQLite's is its one
 * connection and the line of transactions and statements waiting for its permit (Store/Sqlite.ts). Read when
 * scraped, never on a request's path.
 */
import { Context } from "effect"

export interface StoreConnectionsService {
  /** the store's kind, as a metric's label says it */
  readonly store: "sqlite" | "postgres"
  /** connections open now */
  readonly open: () => number
  /** open connections no one is using */
  readonly idle: () => number
  /** requests (transactions, statements) waiting for a connection */
  readonly waiting: () => number
}

export class StoreConnections extends Context.Tag("chunyun/StoreConnections")<StoreConnections, StoreConnectionsService>() {}
