/**
 * Server settings: one interface per feature (reference/Settings/), and `ServerSettings` their composition. Every
 * limit is named with its unit last. A module reads only its feature's settings, through that feature's tag
 * (`HoldConfig`, `PaymentConfig`, …); `ServerConfig.layer` provides every tag from one settings object. The
 * simulation and `chunyun serve` both build one of these; nothing in the server reads the environment directly.
 * The simulated externals' settings are theirs, not the server's (reference/Simulated/Settings.ts).
 */
import { Context, Layer } from "effect"
import { AccessConfig, defaultAccessSettings } from "./Settings/Access.js"
import type { AccessSettings } from "./Settings/Access.js"
import { BackupConfig, defaultBackupSettings } from "./Settings/Backup.js"
import type { BackupSettings } from "./Settings/Backup.js"
import { CalendarConfig, defaultCalendarSettings } from "./Settings/Calendar.js"
import type { CalendarSettings } from "./Settings/Calendar.js"
import { CatalogConfig, defaultCatalogSettings } from "./Settings/Catalog.js"
import type { CatalogSettings } from "./Settings/Catalog.js"
import { CheckinConfig, defaultCheckinSettings } from "./Settings/Checkin.js"
import type { CheckinSettings } from "./Settings/Checkin.js"
import { CryptoConfig, defaultCryptoSettings } from "./Settings/Crypto.js"
import type { CryptoSettings } from "./Settings/Crypto.js"
import { CustomerConfig, defaultCustomerSettings } from "./Settings/Customers.js"
import type { CustomerSettings } from "./Settings/Customers.js"
import { DeliveryConfig, defaultDeliverySettings } from "./Settings/Delivery.js"
import type { DeliverySettings } from "./Settings/Delivery.js"
import { defaultFaultSettings, FaultConfig } from "./Settings/Faults.js"
import type { FaultSettings } from "./Settings/Faults.js"
import { defaultHoldSettings, HoldConfig } from "./Settings/Holds.js"
import type { HoldSettings } from "./Settings/Holds.js"
import { defaultIssuanceSettings, IssuanceConfig } from "./Settings/Issuance.js"
import type { IssuanceSettings } from "./Settings/Issuance.js"
import { defaultLifecycleSettings, LifecycleConfig } from "./Settings/Lifecycle.js"
import type { LifecycleSettings } from "./Settings/Lifecycle.js"
import { defaultPasswordSettings, PasswordConfig } from "./Settings/Passwords.js"
import type { PasswordSettings } from "./Settings/Passwords.js"
import { defaultPaymentSettings, PaymentConfig } from "./Settings/Payments.js"
import type { PaymentSettings } from "./Settings/Payments.js"
import { defaultRemoteBookingSettings, RemoteBookingConfig } from "./Settings/RemoteBookings.js"
import type { RemoteBookingSettings } from "./Settings/RemoteBookings.js"
import { defaultRequestGuardSettings, RequestGuardConfig } from "./Settings/RequestGuard.js"
import type { RequestGuardSettings } from "./Settings/RequestGuard.js"
import { defaultSmsSettings, SmsConfig } from "./Settings/Sms.js"
import type { SmsSettings } from "./Settings/Sms.js"
import { defaultSweeperSettings, SweeperConfig } from "./Settings/Sweepers.js"
import type { SweeperSettings } from "./Settings/Sweepers.js"
import { defaultUpstreamSettings, UpstreamConfig } from "./Settings/Upstream.js"
import type { UpstreamSettings } from "./Settings/Upstream.js"
import { defaultWalletSettings, WalletConfig } from "./Settings/Wallet.js"
import type { WalletSettings } from "./Settings/Wallet.js"

/** PostgreSQL connections a server process keeps (pg's own default), and the most it may ask for (PostgreSQL's default max_connections) */
export const defaultStoreMaxConnections = 10
export const maxStoreConnections = 100

/** Every feature's settings: what a server runs with. */
export interface ServerSettings extends
  AccessSettings, CryptoSettings, PasswordSettings, CalendarSettings, HoldSettings, WalletSettings, IssuanceSettings,
  CustomerSettings, CheckinSettings, CatalogSettings, LifecycleSettings, PaymentSettings, RemoteBookingSettings,
  SmsSettings, DeliverySettings, SweeperSettings, UpstreamSettings, BackupSettings, FaultSettings, RequestGuardSettings {}

export const defaultSettings: ServerSettings = {
  ...defaultAccessSettings, ...defaultCryptoSettings, ...defaultPasswordSettings, ...defaultCalendarSettings,
  ...defaultHoldSettings, ...defaultWalletSettings, ...defaultIssuanceSettings, ...defaultCustomerSettings,
  ...defaultCheckinSettings, ...defaultCatalogSettings, ...defaultLifecycleSettings, ...defaultPaymentSettings,
  ...defaultRemoteBookingSettings, ...defaultSmsSettings, ...defaultDeliverySettings, ...defaultSweeperSettings,
  ...defaultUpstreamSettings, ...defaultBackupSettings, ...defaultFaultSettings, ...defaultRequestGuardSettings
}

/** The tags of every feature's settings: what the server's layers need. */
export type ServerConfig =
  | AccessConfig | CryptoConfig | PasswordConfig | CalendarConfig | HoldConfig | WalletConfig | IssuanceConfig
  | CustomerConfig | CheckinConfig | CatalogConfig | LifecycleConfig | PaymentConfig | RemoteBookingConfig
  | SmsConfig | DeliveryConfig | SweeperConfig | UpstreamConfig | BackupConfig | FaultConfig | RequestGuardConfig

/** Every feature's tag, from the defaults with `overrides` over them (each tag sees its own fields of one object). */
const serverConfigContext = (overrides: Partial<ServerSettings> = {}): Context.Context<ServerConfig> => {
  const settings: ServerSettings = { ...defaultSettings, ...overrides }
  return Context.make(AccessConfig, settings).pipe(
    Context.add(CryptoConfig, settings), Context.add(PasswordConfig, settings), Context.add(CalendarConfig, settings),
    Context.add(HoldConfig, settings), Context.add(WalletConfig, settings), Context.add(IssuanceConfig, settings),
    Context.add(CustomerConfig, settings), Context.add(CheckinConfig, settings), Context.add(CatalogConfig, settings),
    Context.add(LifecycleConfig, settings), Context.add(PaymentConfig, settings), Context.add(RemoteBookingConfig, settings),
    Context.add(SmsConfig, settings), Context.add(DeliveryConfig, settings), Context.add(SweeperConfig, settings),
    Context.add(UpstreamConfig, settings), Context.add(BackupConfig, settings), Context.add(FaultConfig, settings),
    Context.add(RequestGuardConfig, settings)
  )
}

/** Every feature's settings tag, built from one settings object. */
export const ServerConfig = {
  context: serverConfigContext,
  /** `context` as a layer */
  layer: (overrides: Partial<ServerSettings> = {}): Layer.Layer<ServerConfig> => Layer.succeedContext(serverConfigContext(overrides))
}
