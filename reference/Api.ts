/**
 * The one contract: the server implements it, every device's client is derived from it, and
 * `GET /openapi.json` is generated from it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import { AccountsApi } from "./Accounts/Api.js"
import { CatalogApi } from "./Catalog/Api.js"
import { CheckinApi } from "./Checkin/Api.js"
import { CustomersApi } from "./Customers/Api.js"
import { IssuanceApi } from "./Issuance/Api.js"
import { OrdersApi } from "./Orders/Api.js"
import {
  HeadersTooLarge, LengthRequired, MalformedRequest, MethodNotAllowed, RequestTooLarge, UnknownRoute, UnsupportedMediaType
} from "./RequestGuard/Errors.js"

export class ChunyunApi extends HttpApi.make("chunyun")
  .add(CustomersApi)
  .add(CatalogApi)
  .add(OrdersApi)
  .add(AccountsApi)
  .add(IssuanceApi)
  .add(CheckinApi)
  // answered by the request guard (reference/RequestGuard.ts) before any handler runs
  .addError(RequestTooLarge)
  .addError(LengthRequired)
  .addError(UnknownRoute)
  .addError(MethodNotAllowed)
  .addError(UnsupportedMediaType)
  .addError(HeadersTooLarge)
  .addError(MalformedRequest)
  .annotate(OpenApi.Title, "Chunyun reference ticketing server")
  .annotate(OpenApi.Version, "0.1.0") {}
