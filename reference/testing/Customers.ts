/**
 * Test helpers for customers: customers with a chosen resident ID, anonymous devices, and
 * buying a ticket end to end (top up, hold, pay) for any signed-in client.
 */
import { Effect } from "effect"
import { asciiBytes, encodeDeviceId } from "../customers/Customers/DeviceId.js"
import { Fen } from "../Domain.js"
import type { CustomerId, PhoneNumber } from "../Domain.js"
import {
  anonymousClient, customerClient, freshPhone, testPassword, testPaymentPassword
} from "./TestServer.js"
import type { ChunyunClient, TestRun } from "./TestServer.js"

export interface TestSignedIn {
  readonly client: ChunyunClient
  readonly token: string
  readonly customerId: CustomerId
  readonly paymentPassword: string
}

/** Registers a phone customer with the given resident ID (and name), and signs in. */
export const customerWithResidentId = (baseUrl: string, residentId: string, name?: string) =>
  Effect.gen(function* () {
    const anonymous = yield* anonymousClient(baseUrl)
    const phone = freshPhone()
    const registered = yield* anonymous.customers.register({
      payload: { phone, password: testPassword, paymentPassword: testPaymentPassword, residentId, ...(name ? { name } : {}) }
    })
    const session = yield* anonymous.customers.login({ payload: { phone, password: testPassword } })
    const signedIn: TestSignedIn & { readonly phone: PhoneNumber } = {
      client: yield* customerClient(baseUrl, session.token), token: session.token,
      customerId: registered.customerId, paymentPassword: testPaymentPassword, phone
    }
    return signedIn
  })

let devicesMade = 0
/** A valid device ID no other call in this process has returned (the machine number counts up). */
export const freshDeviceId = (installTime?: string) => {
  devicesMade++
  const machineNumber = Buffer.alloc(8)
  machineNumber.writeBigUInt64BE(BigInt(devicesMade) + 0x3520990000000000n)
  return encodeDeviceId({
    machineNumber, mac: Uint8Array.from([0x3c, 0x22, 0xfb, 0x12, 0x9a, devicesMade & 0xff]),
    model: asciiBytes("P40"), brand: asciiBytes("Huawei"), ...(installTime ? { installTime } : {})
  })
}

/** Registers an anonymous device; the session comes with the registration. */
export const newDevice = (baseUrl: string, deviceId: string = freshDeviceId(), paymentPassword = "975310") =>
  Effect.gen(function* () {
    const anonymous = yield* anonymousClient(baseUrl)
    const session = yield* anonymous.customers.registerDevice({ payload: { deviceId, paymentPassword } })
    const device: TestSignedIn & { readonly deviceId: string } = {
      client: yield* customerClient(baseUrl, session.token), token: session.token,
      customerId: session.customerId, paymentPassword, deviceId
    }
    return device
  })

/** Tops up the fare, holds first stop → last stop of `run`, pays; the keys carry `label` so each purchase is new. */
export const buyJourney = (who: TestSignedIn, run: TestRun, label: string) =>
  Effect.gen(function* () {
    const order = yield* who.client.orders.hold({
      payload: { runId: run.runId, fromStation: run.stations[0]!, toStation: run.stations.at(-1)! }
    })
    yield* who.client.accounts.topUp({ headers: { "idempotency-key": `topup-${label}` }, payload: { amountFen: Fen.make(order.priceFen) } })
    const paid = yield* who.client.accounts.pay({
      path: { orderId: order.orderId }, headers: { "idempotency-key": `pay-${label}` }, payload: { paymentPassword: who.paymentPassword }
    })
    return { order, paid }
  })
