/**
 * The endpoints an exported k6 script calls, read from the HttpApi's OpenAPI document: each operation's method,
 * path (with `{name}` slots the script fills) and the status its success answers with. A renamed or removed
 * endpoint fails the export, not the load test.
 */
import { OpenApi } from "@effect/platform"
import { ChunyunApi } from "../../reference/Api.js"

/** the operations the journeys, their setup and the operator's faults call, by the contract's operation ID */
export const k6OperationIds = [
  "catalog.search", "catalog.seatMap", "catalog.createRun", "catalog.registerGate",
  "customers.register", "customers.login", "customers.registerDevice",
  "venues.listShowings", "venues.listEvents", "venues.createCinema", "venues.createShowing", "venues.createEvent",
  "orders.hold", "accounts.topUp", "accounts.pay", "issuance.getTicket", "checkin.scan",
  "lifecycle.cancel", "gateway.payByGateway", "gateway.gatewayPaymentStatus",
  "paymentsAdmin.setGatewayConditions", "paymentsAdmin.setBankConditions", "paymentsAdmin.registerKiosk", "paymentsAdmin.issueBankCard",
  "backup.setStoreConditions",
  "kiosk.holdWalkUp", "kiosk.payByCard", "kiosk.getRemoteBooking", "kiosk.payRemoteBooking", "kiosk.pickup", "kiosk.printJobs", "kiosk.printed",
  "delivery.getVoucher", "delivery.registerCarrier", "delivery.carrierTickets", "delivery.acknowledgeWritten", "delivery.reportRemoved",
  "sms.registerGateway", "sms.receive", "sms.outbound",
  "groupOrders.buy", "remoteBookings.bookRemoteCard", "remoteBookings.agentLogin", "remoteBookings.bookForCaller", "agentsAdmin.putAgent"
] as const
export type K6OperationId = typeof k6OperationIds[number]

export interface K6Endpoint {
  readonly method: string
  /** `/orders/{orderId}/payment`: the script replaces each `{name}` with its value, URI-encoded */
  readonly path: string
  /** the status of the operation's success answer */
  readonly status: number
}

type OpenApiPaths = Record<string, Record<string, { readonly operationId?: string; readonly responses?: Record<string, unknown> } | undefined>>

/** Each operation's endpoint; throws naming the operation the contract does not have (a defect of this exporter). */
export const k6EndpointsOf = (): Record<K6OperationId, K6Endpoint> => {
  const paths = OpenApi.fromApi(ChunyunApi).paths as OpenApiPaths
  const byOperation = new Map<string, K6Endpoint>()
  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, spec] of Object.entries(methods)) {
      const success = Object.keys(spec?.responses ?? {}).map(Number).filter((status) => status >= 200 && status < 300).sort()[0]
      if (spec?.operationId !== undefined && success !== undefined) byOperation.set(spec.operationId, { method: method.toUpperCase(), path, status: success })
    }
  }
  const endpoints = {} as Record<K6OperationId, K6Endpoint>
  for (const operationId of k6OperationIds) {
    const endpoint = byOperation.get(operationId)
    if (endpoint === undefined) throw new Error(`export-k6: the API has no operation ${operationId}`)
    endpoints[operationId] = endpoint
  }
  return endpoints
}
