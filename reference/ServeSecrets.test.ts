/**
 * The secrets a served instance draws for itself are usable as they are on a command line: none starts with "-",
 * which `--admin-key <value>` would read as an option (one base64url secret in 64 does).
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import { parseArgs } from "node:util"
import { generatedSecretBytes, generateSecret, minServeSecretChars } from "./ServeSecrets.js"

/** at 1 in 64 a draw, this many draws would give one starting with "-" but for about one run in 10^14 */
const drawCount = 2_000

test("a generated secret never starts with a dash, is long enough to serve, and reads back as the option's value", () => {
  for (let draw = 0; draw < drawCount; draw++) {
    const secret = generateSecret()
    assert.ok(!secret.startsWith("-"), `generated secret ${secret} starts with a dash`)
    assert.ok(secret.length >= minServeSecretChars && secret.length === Math.ceil((generatedSecretBytes * 4) / 3))
    const { values } = parseArgs({ args: ["--admin-key", secret], options: { "admin-key": { type: "string" } } })
    assert.equal(values["admin-key"], secret)
  }
})
