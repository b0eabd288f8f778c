import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { AdminAuth } from "../../customers/Auth/Api.js"
import { maxStoreDelayMs } from "../../Store/SlowStore.js"

export const BackupFormat = Schema.Literal("sqlite-file", "logical-json")
export type BackupFormat = typeof BackupFormat.Type

export const BackupManifest = Schema.Struct({
  backupId: Schema.String,
  /** sqlite-file: the SQLite online backup API's copy; logical-json: every table read in one REPEATABLE READ snapshot */
  format: BackupFormat,
  /** where the server wrote it, under its `backupDirectory` */
  path: Schema.String,
  takenAtMs: Schema.Number,
  /** rows per table in the backup */
  rowCounts: Schema.Record({ key: Schema.String, value: Schema.Number })
})
export type BackupManifest = typeof BackupManifest.Type

/** A backup that cannot be restored into the store asked for (a format or schema it does not know). */
export class BackupNotRestorable extends Schema.TaggedError<BackupNotRestorable>()(
  "BackupNotRestorable", { message: Schema.String }, HttpApiSchema.annotations({ status: 422 })
) {}

export class BackupApi extends HttpApiGroup.make("backup")
  .add(
    HttpApiEndpoint.post("takeBackup", "/admin/backups")
      .addSuccess(BackupManifest, { status: 201 })
  )
  .add(
    // the scenario fault `slow-store` (reference/Store/SlowStore.ts): every commit waits this long
    HttpApiEndpoint.put("setStoreConditions", "/admin/store/conditions")
      .setPayload(Schema.Struct({ delayMs: Schema.Int.pipe(Schema.between(0, maxStoreDelayMs)) }))
      .addSuccess(Schema.Void, { status: 204 })
  )
  .middleware(AdminAuth) {}
