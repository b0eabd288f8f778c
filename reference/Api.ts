/**
 * The one contract: the server implements it, every device's client is derived from it, and
 * `GET /openapi.json` is generated from it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AccountsApi } from "./payments/Accounts/Api.js"
import { BackupApi } from "./operations/Backup/Api.js"
import { GateSyncApi } from "./delivery/GateSync/Api.js"
import { GroupOrdersApi } from "./ticketing/GroupOrders/Api.js"
import { HealthApi } from "./operations/Health/Api.js"
import { MetricsApi } from "./operations/Metrics/Api.js"
import { UpstreamApi } from "./delivery/Upstream/Api.js"
import { CatalogApi } from "./ticketing/Catalog/Api.js"
import { CheckinApi } from "./delivery/Checkin/Api.js"
import { CustomersApi, ProfileApi } from "./customers/Customers/Api.js"
import { DeliveryApi } from "./delivery/Delivery/Api.js"
import { IssuanceApi } from "./delivery/Issuance/Api.js"
import { LifecycleApi } from "./ticketing/Lifecycle/Api.js"
import { OrdersApi } from "./ticketing/Orders/Api.js"
import { StatisticsApi } from "./ticketing/Statistics/Api.js"
import { VenuesApi } from "./ticketing/Venues/Api.js"
import { GatewayApi, PaymentsAdminApi, KioskApi } from "./payments/Payments/Api.js"
import { SmsApi } from "./delivery/Sms/Api.js"
import { AgentsAdminApi, RemoteBookingsApi } from "./ticketing/RemoteBookings/Api.js"
import {
  HeadersTooLarge, InternalServerError, JsonTooDeep, LengthRequired, MalformedRequest, MethodNotAllowed, RequestTimedOut, RequestTooLarge,
  ServerStarting, UnknownRoute, UnsupportedCharset, UnsupportedMediaType
} from "./operations/RequestGuard/Errors.js"

export class ChunyunApi extends HttpApi.make("chunyun")
  .add(HealthApi)
  .add(MetricsApi)
  .add(CustomersApi)
  .add(CatalogApi)
  .add(VenuesApi)
  .add(OrdersApi)
  .add(AccountsApi)
  .add(IssuanceApi)
  .add(CheckinApi)
  .add(ProfileApi)
  .add(StatisticsApi)
  .add(LifecycleApi)
  .add(PaymentsAdminApi)
  .add(KioskApi)
  .add(GatewayApi)
  .add(SmsApi)
  .add(DeliveryApi)
  .add(BackupApi)
  .add(GateSyncApi)
  .add(UpstreamApi)
  .add(GroupOrdersApi)
  .add(RemoteBookingsApi)
  .add(AgentsAdminApi)
  // answered by the request guard (reference/operations/RequestGuard.ts) before any handler runs
  .addError(RequestTooLarge)
  .addError(LengthRequired)
  .addError(UnknownRoute)
  .addError(MethodNotAllowed)
  .addError(UnsupportedMediaType)
  .addError(UnsupportedCharset)
  .addError(JsonTooDeep)
  .addError(InternalServerError)
  .addError(RequestTimedOut)
  .addError(ServerStarting)
  .addError(HeadersTooLarge)
  .addError(MalformedRequest)
  .annotate(OpenApi.Title, "Chunyun reference ticketing server")
  .annotate(OpenApi.Version, "0.1.0") {}
