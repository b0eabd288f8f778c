import { HttpApiBuilder } from "@effect/platform"
import { Effect, Ref } from "effect"
import { StoreSlowness } from "../../Store/SlowStore.js"
import { ChunyunApi } from "../../Api.js"
import { Backup } from "../Backup.js"
import { storeDefects } from "../../Sql.js"

export const BackupHttp = HttpApiBuilder.group(ChunyunApi, "backup", (handlers) =>
  Effect.gen(function* () {
    const backup = yield* Backup
    const slowness = yield* StoreSlowness
    return handlers
      .handle("takeBackup", () => storeDefects(backup.take))
      .handle("setStoreConditions", ({ payload }) => Ref.set(slowness, payload.delayMs))
  }))
