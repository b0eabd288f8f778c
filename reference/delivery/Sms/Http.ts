import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { CurrentSmsGateway } from "../Delivery/Auth.js"
import { Devices } from "../Delivery/Devices.js"
import { Sms } from "../Sms.js"
import { storeDefects } from "../../Sql.js"

export const SmsHttp = HttpApiBuilder.group(ChunyunApi, "sms", (handlers) =>
  Effect.gen(function* () {
    const sms = yield* Sms
    const devices = yield* Devices
    return handlers
      .handle("registerGateway", ({ payload }) =>
        storeDefects(Effect.map(devices.register("sms-gateway", payload.gatewayId, ""),
          (deviceKey) => ({ gatewayId: payload.gatewayId, deviceKey }))))
      .handle("receive", ({ payload }) => Effect.flatMap(CurrentSmsGateway, (gateway) => storeDefects(sms.receive(gateway, payload))))
      .handle("outbound", ({ urlParams }) => storeDefects(sms.outbound(urlParams.afterId ?? 0, urlParams.limit)))
  }))
