/**
 * The two secrets of a served instance: the admin key (the `x-admin-key` header of every `/admin` endpoint)
 * and the HMAC key the gateway signs its notifications with. `chunyun serve` draws both from the operating
 * system's CSPRNG at start unless it is given them, and whatever starts servers (the real-mode harness, the
 * crash tests, the bench) gives each server secrets it drew itself. The constants in `defaultSettings` serve
 * in-process tests only: a served instance refuses them.
 */
import { randomBytes } from "node:crypto"
import { defaultSettings } from "./Config.js"

export interface ServeSecrets {
  readonly adminKey: string
  readonly gatewayWebhookSecret: string
}

/** the environment variables `chunyun serve` reads its secrets from when no flag gives them */
export const serveSecretsEnvironment = { adminKey: "CHUNYUN_ADMIN_KEY", gatewayWebhookSecret: "CHUNYUN_GATEWAY_WEBHOOK_SECRET" } as const

/** random bytes in a generated secret (256 bits) */
export const generatedSecretBytes = 32
/** the shortest secret a served instance accepts */
export const minServeSecretChars = 16

/**
 * A secret as base64url text, never starting with "-": given on a command line (`--admin-key -x…`), such a value reads
 * as an option, and the command refuses it as ambiguous. One secret in 64 would start so; it is drawn again.
 */
export const generateSecret = (): string => {
  const secret = randomBytes(generatedSecretBytes).toString("base64url")
  return secret.startsWith("-") ? generateSecret() : secret
}

export const generateServeSecrets = (): ServeSecrets => ({ adminKey: generateSecret(), gatewayWebhookSecret: generateSecret() })

/** Why a served instance may not use `secret` as its `name`; undefined when it may. */
export const serveSecretRefusal = (name: string, secret: string): string | undefined => {
  if (secret === defaultSettings.adminKey || secret === defaultSettings.gatewayWebhookSecret) {
    return `${name} is the public constant of in-process tests: a served instance never uses it`
  }
  if (secret.length < minServeSecretChars) return `${name} must be at least ${minServeSecretChars} characters long`
  return undefined
}

/** The secrets as environment variables of a server process the caller spawns. */
export const serveSecretsEnv = (secrets: ServeSecrets): Record<string, string> => ({
  [serveSecretsEnvironment.adminKey]: secrets.adminKey,
  [serveSecretsEnvironment.gatewayWebhookSecret]: secrets.gatewayWebhookSecret
})
