/**
 * The one contract: the server implements it, every device's client is derived from it, and
 * `GET /openapi.json` is generated from it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AccountsApi } from "./Accounts/Api.js"
import { BackupApi } from "./Backup/Api.js"
import { GateSyncApi } from "./GateSync/Api.js"
import { GroupOrdersApi } from "./GroupOrders/Api.js"
import { HealthApi } from "./Health/Api.js"
import { MetricsApi } from "./Metrics/Api.js"
import { UpstreamApi } from "./Upstream/Api.js"
import { CatalogApi } from "./Catalog/Api.js"
import { CheckinApi } from "./Checkin/Api.js"
import { CustomersApi, ProfileApi } from "./Customers/Api.js"
import { DeliveryApi } from "./Delivery/Api.js"
import { IssuanceApi } from "./Issuance/Api.js"
import { LifecycleApi } from "./Lifecycle/Api.js"
import { OrdersApi } from "./Orders/Api.js"
import { StatisticsApi } from "./Statistics/Api.js"
import { VenuesApi } from "./Venues/Api.js"
import { GatewayApi, PaymentsAdminApi, KioskApi } from "./Payments/Api.js"
import { SmsApi } from "./Sms/Api.js"
import { AgentsAdminApi, RemoteBookingsApi } from "./RemoteBookings/Api.js"
import {
  HeadersTooLarge, InternalServerError, JsonTooDeep, LengthRequired, MalformedRequest, MethodNotAllowed, RequestTimedOut, RequestTooLarge,
  ServerStarting, UnknownRoute, UnsupportedCharset, UnsupportedMediaType
} from "./RequestGuard/Errors.js"

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
  // answered by the request guard (reference/RequestGuard.ts) before any handler runs
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
