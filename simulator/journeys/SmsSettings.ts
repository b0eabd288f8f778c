/**
 * The SMS channel and SIM carrier settings a scenario gets when it names the `sms` or `carrier` journey
 * without an `sms` section (scenarios/Scenario.ts documents each field).
 */
import type { Scenario, SmsChannel } from "../../scenarios/Scenario.js"

export const defaultSmsChannel: SmsChannel = {
  // an SMS centre hands a text on within seconds
  gatewayDelayMs: { min: 500, max: 4_000 },
  pullIntervalMs: 1_000,
  maxIdlePullIntervalMs: 30_000,
  replyTimeoutMs: 60_000,
  maxSmsResends: 2,
  ticketNoticeTimeoutMs: 120_000,
  statusPollIntervalMs: 60_000,
  maxStatusPolls: 5,
  // seed 003: 1–2 KB for tickets, about 255 B each
  carrierCapacityBytes: { min: 1_024, max: 2_048 },
  tripsPerCarrierPhone: { min: 2, max: 6 }
}

export const smsChannelOf = (scenario: Scenario): SmsChannel => scenario.sms ?? defaultSmsChannel
