/** Customers' expected failures, each with its HTTP status. */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/** The resident ID number fails GB 11643: `problem` names the part (form, region, birth date, check digit). */
export class InvalidResidentId extends Schema.TaggedError<InvalidResidentId>()(
  "InvalidResidentId", { problem: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
/** The device ID's length, check code or fields are wrong: `problem` says which. */
export class InvalidDeviceId extends Schema.TaggedError<InvalidDeviceId>()(
  "InvalidDeviceId", { problem: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}
export class DeviceAlreadyRegistered extends Schema.TaggedError<DeviceAlreadyRegistered>()(
  "DeviceAlreadyRegistered", { deviceId: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** A profile change gave the wrong current password. */
export class OldPasswordWrong extends Schema.TaggedError<OldPasswordWrong>()(
  "OldPasswordWrong", {}, HttpApiSchema.annotations({ status: 403 })
) {}
/** An anonymous device's customer has no login password to change. */
export class NoLoginPassword extends Schema.TaggedError<NoLoginPassword>()(
  "NoLoginPassword", { message: Schema.String }, HttpApiSchema.annotations({ status: 409 })
) {}
/** Too many wrong login passwords: no password of this account is checked for `retryAfterMs` more. */
export class LoginLocked extends Schema.TaggedError<LoginLocked>()(
  "LoginLocked", { retryAfterMs: Schema.Number }, HttpApiSchema.annotations({ status: 423 })
) {}
