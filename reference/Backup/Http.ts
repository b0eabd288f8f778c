import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../Api.js"
import { Backup } from "../Backup.js"
import { storeDefects } from "../Sql.js"

export const BackupHttp = HttpApiBuilder.group(ChunyunApi, "backup", (handlers) =>
  Effect.map(Backup, (backup) =>
    handlers.handle("takeBackup", () => storeDefects(backup.take))
  ))
