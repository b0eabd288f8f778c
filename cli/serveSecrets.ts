/**
 * Where `chunyun serve` gets its secrets (reference/ServeSecrets.ts): a flag, else the environment, else drawn
 * at start. A drawn admin key is written to a file only its owner may read (0600) and the file's path is
 * printed; the gateway webhook secret is never printed or written (the simulated gateway lives in the server).
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { generateSecret, serveSecretRefusal, serveSecretsEnvironment } from "../reference/ServeSecrets.js"
import type { ServeSecrets } from "../reference/ServeSecrets.js"

export interface ResolvedServeSecrets {
  readonly secrets: ServeSecrets
  /** true when the admin key was drawn here (nobody else knows it yet: it goes to the admin key file) */
  readonly adminKeyGenerated: boolean
}

/** A flag's value, else the environment's, else a fresh secret; a refused one (a public constant, too short) is an error. */
export const resolveServeSecrets = (
  flags: { readonly adminKey?: string | undefined; readonly gatewayWebhookSecret?: string | undefined },
  environment: Readonly<Record<string, string | undefined>> = process.env
): ResolvedServeSecrets | { readonly refusal: string } => {
  const given = (flag: string | undefined, variable: string) => flag ?? (environment[variable] || undefined)
  const adminKey = given(flags.adminKey, serveSecretsEnvironment.adminKey)
  const webhookSecret = given(flags.gatewayWebhookSecret, serveSecretsEnvironment.gatewayWebhookSecret)
  const refusal = (adminKey === undefined ? undefined : serveSecretRefusal(`--admin-key (or ${serveSecretsEnvironment.adminKey})`, adminKey)) ??
    (webhookSecret === undefined ? undefined
      : serveSecretRefusal(`--gateway-webhook-secret (or ${serveSecretsEnvironment.gatewayWebhookSecret})`, webhookSecret))
  if (refusal !== undefined) return { refusal }
  return {
    secrets: { adminKey: adminKey ?? generateSecret(), gatewayWebhookSecret: webhookSecret ?? generateSecret() },
    adminKeyGenerated: adminKey === undefined
  }
}

/** where a drawn admin key goes unless `--admin-key-file` says: beside a SQLite file, else under ./data */
export const defaultAdminKeyFile = (db: string | undefined, store: string | undefined) =>
  store === undefined && db !== undefined && db !== ":memory:" ? `${resolve(db)}.admin-key` : resolve("data", "chunyun-serve.admin-key")

/** Writes the key to a fresh file readable by its owner only (0600): a file left from an earlier start is replaced, never reused with its mode. */
export const writeAdminKeyFile = (path: string, adminKey: string) => {
  mkdirSync(dirname(path), { recursive: true })
  rmSync(path, { force: true })
  writeFileSync(path, `${adminKey}\n`, { mode: 0o600, flag: "wx" })
  chmodSync(path, 0o600)
  return path
}
