import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { Health } from "../Health.js"

export const HealthHttp = HttpApiBuilder.group(ChunyunApi, "health", (handlers) =>
  Effect.map(Health, (health) => handlers.handle("getHealth", () => health.check)))
