/**
 * The SMS relay: the device side of seed 002's SMS platform (the server's side, where outbound texts are queued, is
 * reference/Simulated/SmsGateway.ts behind the port reference/delivery/Sms/GatewayPort.ts). It relays texts from
 * phones to the server under a message
 * ID of its own, redelivering the same ID when a delivery fails, and pulls the server's outbound texts into
 * the phones' inboxes. Loss is a parameter: a lost outbound text is pulled but never reaches its phone.
 * `makeSmsNetwork` is the same gateway as a party of a simulated run: each text takes a latency drawn from
 * the scenario's range, the `sms-loss` fault loses texts both ways and delays the rest, and the outbound
 * queue is pulled on a timer, so a phone learns its answer only when the text lands in its inbox.
 */
import { Clock, Effect, Random } from "effect"
import type { PhoneNumber } from "../reference/Domain.js"
import { outcomeOf } from "./HistoryEvents.js"
import type { EventDetail, HistoryKind } from "./HistoryEvents.js"
import { HistoryRecorder, note, overTheNetwork, sent } from "./Instruments.js"
import type { Instruments } from "./Instruments.js"
import { withCredentials } from "./Client.js"
import type { ApiClient } from "./Client.js"

export interface SmsRelayOptions {
  readonly gatewayId: string
  readonly deviceKey: string
  /** chance in [0, 1] that an outbound text is lost on its way to the phone */
  readonly outboundLossRate: number
  /** deliveries of one inbound text before the gateway gives up */
  readonly maxDeliveryAttempts: number
}

export interface SmsRelay {
  /** a phone's text, delivered (and redelivered under the same message ID on failure); answers the server's reply */
  readonly relay: (from: string, text: string) => Effect.Effect<string, unknown>
  /** moves the server's outbound texts to the phones' inboxes; answers how many were pulled */
  readonly pull: Effect.Effect<number, unknown>
  readonly inbox: (phone: string) => ReadonlyArray<string>
  readonly lostTexts: () => number
}

export const makeSmsRelay = (client: ApiClient, options: SmsRelayOptions): SmsRelay => {
  const asGateway = withCredentials({ "x-device-key": options.deviceKey })
  const inboxes = new Map<string, Array<string>>()
  let messagesRelayed = 0
  let afterId = 0
  let lost = 0

  const relay = (from: string, text: string) => {
    const messageId = `${options.gatewayId}-${++messagesRelayed}`
    return client.sms.receive({ payload: { messageId, from: from as PhoneNumber, text } }).pipe(
      // a lost request, or a text the server is still answering, is delivered again; a refusal is final
      Effect.retry({
        times: options.maxDeliveryAttempts - 1,
        while: (error) => error._tag === "RequestError" || error._tag === "SmsInboundInProgress"
      }),
      Effect.map((answered) => answered.reply),
      asGateway
    )
  }

  const pull = Effect.gen(function* () {
    const page = yield* client.sms.outbound({ urlParams: { afterId, limit: textsPerPull } })
    for (const text of page.texts) {
      if ((yield* Random.next) < options.outboundLossRate) {
        lost++
        continue
      }
      const inbox = inboxes.get(text.to) ?? []
      inbox.push(text.text)
      inboxes.set(text.to, inbox)
    }
    afterId = page.nextAfterId
    return page.texts.length
  }).pipe(asGateway)

  return { relay, pull, inbox: (phone) => inboxes.get(phone) ?? [], lostTexts: () => lost }
}

// ---- the SMS gateway as a party of a simulated run: latency, loss, an outbound queue pulled on a timer ----------

/**
 * What a run gives the simulated gateway: its clock, its latency and the `sms-loss` fault when active (its history
 * and the network between it and the server are services: devices/Instruments.ts).
 */
export interface SmsNetworkTiming {
  readonly sleepScenario: (ms: number) => Effect.Effect<void>
  readonly scenarioNowMs: Effect.Effect<number>
  /** one-way latency of a text, phone → server or server → phone (uniform, ms) */
  readonly gatewayDelayMs: { readonly min: number; readonly max: number }
  /** the `sms-loss` fault while its window is open (read per text; draws nothing when none is scheduled) */
  readonly activeLoss: Effect.Effect<{ readonly lossRate: number; readonly maxDelayMs: number } | undefined>
  readonly pullIntervalMs: number
  readonly maxIdlePullIntervalMs: number
}

/** How a phone names the server's answer to its text in the history (a BUY that held is a `hold`). */
export interface SmsCallRecord {
  readonly kind: HistoryKind
  readonly outcome: string
  readonly detail?: EventDetail
}

/** The kind a text's failed delivery is recorded as, by the text's command (its first word). */
const smsCommandKinds: Readonly<Record<string, HistoryKind>> = { BUY: "sms-buy", PAY: "sms-pay", STATUS: "sms-status", CANCEL: "sms-cancel" }

export interface SmsNetwork {
  /**
   * A phone's text: lost (`sms-loss`), or carried to the server after the gateway's latency. Answers the
   * server's reply as the gateway saw it (undefined when the text was lost); the phone itself only learns
   * it from its inbox, when the reply is pulled and delivered.
   */
  readonly submit: (actor: string, from: string, text: string, record: (reply: string) => SmsCallRecord) =>
    Effect.Effect<string | undefined, unknown, Instruments>
  /** the texts that have reached `phone` by now, in the order they arrived */
  readonly received: (phone: string) => Effect.Effect<ReadonlyArray<string>>
  /** run `effect` as a phone that awaits a text: while any phone does, the gateway pulls at its busy pace */
  readonly awaiting: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** the gateway's pull loop, until the scenario's clock reaches `untilMs` */
  readonly pullLoop: (untilMs: number) => Effect.Effect<void, unknown, Instruments>
}

/** texts asked for per pull; a shorter page means the queue is drained */
export const textsPerPull = 100

interface PendingText { readonly text: string; readonly arriveAtMs: number; readonly sequence: number }

export const gatewayActor = (gatewayId: string) => `sms-gateway-${gatewayId}`

export const makeSmsNetwork = (
  client: ApiClient, options: { readonly gatewayId: string; readonly deviceKey: string; readonly maxDeliveryAttempts: number },
  timing: SmsNetworkTiming
): SmsNetwork => {
  const device = makeSmsRelay(client, { ...options, outboundLossRate: 0 })
  const asGateway = withCredentials({ "x-device-key": options.deviceKey })
  const actor = gatewayActor(options.gatewayId)
  const pending = new Map<string, Array<PendingText>>()
  const arrived = new Map<string, Array<string>>()
  let sequence = 0
  let phonesAwaiting = 0
  let afterId = 0

  /** lost (true) or the latency of this text: the gateway's own, plus up to the fault's extra delay */
  const fate = Effect.gen(function* () {
    const fault = yield* timing.activeLoss
    if (fault && (yield* Random.next) < fault.lossRate) return { lost: true as const }
    const baseMs = yield* Random.nextIntBetween(timing.gatewayDelayMs.min, timing.gatewayDelayMs.max + 1)
    const extraMs = fault ? yield* Random.nextIntBetween(0, fault.maxDelayMs + 1) : 0
    return { lost: false as const, delayMs: baseMs + extraMs }
  })

  const submit = (phoneActor: string, from: string, text: string, record: (reply: string) => SmsCallRecord) =>
    Effect.gen(function* () {
      const command = text.split(" ")[0] ?? ""
      const carried = yield* fate
      if (carried.lost) {
        yield* note(phoneActor, "sms-lost", "lost", { direction: "to-server", command })
        return undefined
      }
      yield* timing.sleepScenario(carried.delayMs)
      const history = yield* HistoryRecorder
      const atMs = yield* history.now
      const startMs = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(overTheNetwork(device.relay(from, text)))
      const durationMs = (yield* Clock.currentTimeMillis) - startMs
      if (exit._tag === "Failure") {
        const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
        const kind = smsCommandKinds[command]
        if (kind === undefined) return yield* Effect.dieMessage(`no SMS command ${command}`)
        history.add({ atMs, actor: phoneActor, kind, outcome: failure === undefined ? "Defect" : outcomeOf(failure), durationMs })
        return yield* exit
      }
      const named = record(exit.value)
      history.add({ atMs, actor: phoneActor, kind: named.kind, outcome: named.outcome, durationMs, ...(named.detail ? { detail: named.detail } : {}) })
      return exit.value
    })

  /** Texts whose time has come move from the air into the phone's inbox, in order of arrival. */
  const received = (phone: string) =>
    Effect.map(timing.scenarioNowMs, (nowMs) => {
      const inbox = arrived.get(phone) ?? []
      const flying = pending.get(phone)
      if (flying && flying.length > 0) {
        const landed = flying.filter((text) => text.arriveAtMs <= nowMs)
        if (landed.length > 0) {
          landed.sort((a, b) => a.arriveAtMs - b.arriveAtMs || a.sequence - b.sequence)
          for (const text of landed) inbox.push(text.text)
          pending.set(phone, flying.filter((text) => text.arriveAtMs > nowMs))
          arrived.set(phone, inbox)
        }
      }
      return inbox as ReadonlyArray<string>
    })

  /** One pull: every outbound text since the last one is lost or put in the air towards its phone. */
  const pullOnce = Effect.gen(function* () {
    let pulled = 0
    for (;;) {
      const page = yield* sent(actor, "sms-pull", client.sms.outbound({ urlParams: { afterId, limit: textsPerPull } }).pipe(asGateway),
        (answer) => ({ texts: answer.texts.length }))
      const nowMs = yield* timing.scenarioNowMs
      for (const text of page.texts) {
        const carried = yield* fate
        if (carried.lost) {
          yield* note(actor, "sms-lost", "lost", { direction: "to-phone", purpose: text.purpose, to: text.to })
          continue
        }
        const flying = pending.get(text.to) ?? []
        flying.push({ text: text.text, arriveAtMs: nowMs + carried.delayMs, sequence: sequence++ })
        pending.set(text.to, flying)
      }
      afterId = page.nextAfterId
      pulled += page.texts.length
      if (page.texts.length < textsPerPull) return pulled
    }
  })

  const pullLoop = (untilMs: number) =>
    Effect.gen(function* () {
      let waitMs = timing.pullIntervalMs
      for (;;) {
        const nowMs = yield* timing.scenarioNowMs
        if (nowMs + waitMs > untilMs) return
        yield* timing.sleepScenario(waitMs)
        const pulled = yield* pullOnce
        // a gateway with phones awaiting answers keeps its pace; an idle one backs off
        waitMs = pulled > 0 || phonesAwaiting > 0 ? timing.pullIntervalMs : Math.min(waitMs * 2, timing.maxIdlePullIntervalMs)
      }
    })

  const awaiting = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.acquireUseRelease(Effect.sync(() => { phonesAwaiting++ }), () => effect, () => Effect.sync(() => { phonesAwaiting-- }))

  return { submit, received, awaiting, pullLoop }
}
