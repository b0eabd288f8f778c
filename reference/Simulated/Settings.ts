/**
 * The simulated externals' own settings: the bank's, the payment gateway's and the SMS gateway's. They are
 * not the server's (reference/Config.ts): a real deployment would have none of them. `chunyun serve`, tests and
 * virtual runs give them to the simulated parties they run beside the server (Server.ts `simulatedParties`).
 */
import { Context, Layer } from "effect"
import { defaultPaymentSettings } from "../Settings/Payments.js"

/** the simulated bank's answer times and PIN tries (Simulated/Bank.ts) */
export interface SimulatedBankSettings {
  /** the simulated bank's answer time for an authorisation: this, plus up to the jitter drawn from Random */
  readonly simulatedBankLatencyMs: number
  readonly simulatedBankLatencyJitterMs: number
  /** wrong PINs in a row after which the simulated bank blocks a card (`pin-tries-exceeded`); a right PIN before then clears the count */
  readonly simulatedBankMaxWrongPins: number
}

export const defaultSimulatedBankSettings: SimulatedBankSettings = {
  simulatedBankLatencyMs: 0,
  simulatedBankLatencyJitterMs: 0,
  simulatedBankMaxWrongPins: 3
}

/** The simulated bank's settings. */
export class SimulatedBankConfig extends Context.Tag("SimulatedBankConfig")<SimulatedBankConfig, SimulatedBankSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<SimulatedBankSettings> = {}) => Layer.succeed(SimulatedBankConfig, { ...defaultSimulatedBankSettings, ...overrides })
}

/** the simulated payment gateway's notifications (Simulated/Gateway.ts) */
export interface SimulatedGatewaySettings {
  /** the HMAC-SHA256 key the gateway signs its notifications with: the server's `gatewayWebhookSecret`, shared */
  readonly gatewayWebhookSecret: string
  /** the simulated gateway's notification delays: on time, and late */
  readonly simulatedGatewayCallbackDelayMs: number
  readonly simulatedGatewayLateCallbackDelayMs: number
  readonly simulatedGatewayCallbackIntervalMs: number
}

export const defaultSimulatedGatewaySettings: SimulatedGatewaySettings = {
  // the key is shared: by default the server verifies with what the gateway signs with
  gatewayWebhookSecret: defaultPaymentSettings.gatewayWebhookSecret,
  simulatedGatewayCallbackDelayMs: 0,
  simulatedGatewayLateCallbackDelayMs: 30_000,
  simulatedGatewayCallbackIntervalMs: 1_000
}

/** The simulated gateway's settings. */
export class SimulatedGatewayConfig extends Context.Tag("SimulatedGatewayConfig")<SimulatedGatewayConfig, SimulatedGatewaySettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<SimulatedGatewaySettings> = {}) => Layer.succeed(SimulatedGatewayConfig, { ...defaultSimulatedGatewaySettings, ...overrides })
}

/** the simulated SMS gateway's longest text (Simulated/SmsGateway.ts) */
export interface SimulatedSmsGatewaySettings {
  /** longest text the SMS gateway sends: three concatenated 160-character segments */
  readonly maxSmsTextChars: number
}

export const defaultSimulatedSmsGatewaySettings: SimulatedSmsGatewaySettings = {
  maxSmsTextChars: 480
}

/** The simulated SMS gateway's settings. */
export class SimulatedSmsGatewayConfig extends Context.Tag("SimulatedSmsGatewayConfig")<SimulatedSmsGatewayConfig, SimulatedSmsGatewaySettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<SimulatedSmsGatewaySettings> = {}) => Layer.succeed(SimulatedSmsGatewayConfig, { ...defaultSimulatedSmsGatewaySettings, ...overrides })
}

/** Every simulated external's settings: what `chunyun serve`, a test server or a virtual run gives them. */
export interface SimulatedExternalsSettings extends SimulatedBankSettings, SimulatedGatewaySettings, SimulatedSmsGatewaySettings {}

export const defaultSimulatedExternalsSettings: SimulatedExternalsSettings = {
  ...defaultSimulatedBankSettings, ...defaultSimulatedGatewaySettings, ...defaultSimulatedSmsGatewaySettings
}

/** The simulated externals' own fields of `settings`, which may hold the server's too (a test server's options). */
export const simulatedExternalsSettingsOf = (settings: Partial<SimulatedExternalsSettings>): Partial<SimulatedExternalsSettings> => {
  const own: Partial<Record<keyof SimulatedExternalsSettings, unknown>> = {}
  for (const key of Object.keys(defaultSimulatedExternalsSettings) as Array<keyof SimulatedExternalsSettings>) {
    if (settings[key] !== undefined) own[key] = settings[key]
  }
  return own as Partial<SimulatedExternalsSettings>
}

/** The tags of every simulated external's settings. */
export type SimulatedExternalsConfig = SimulatedBankConfig | SimulatedGatewayConfig | SimulatedSmsGatewayConfig

/** Every simulated external's tag, from the defaults with `overrides` over them. */
export const simulatedExternalsConfigContext = (overrides: Partial<SimulatedExternalsSettings> = {}): Context.Context<SimulatedExternalsConfig> => {
  const settings: SimulatedExternalsSettings = { ...defaultSimulatedExternalsSettings, ...overrides }
  return Context.make(SimulatedBankConfig, settings).pipe(Context.add(SimulatedGatewayConfig, settings), Context.add(SimulatedSmsGatewayConfig, settings))
}

/** `simulatedExternalsConfigContext` as a layer */
export const simulatedExternalsConfigLayer = (overrides: Partial<SimulatedExternalsSettings> = {}): Layer.Layer<SimulatedExternalsConfig> =>
  Layer.succeedContext(simulatedExternalsConfigContext(overrides))
