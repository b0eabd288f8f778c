import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ChunyunApi } from "../../Api.js"
import { storeDefects } from "../../Sql.js"
import { Venues } from "../Venues.js"

export const VenuesHttp = HttpApiBuilder.group(ChunyunApi, "venues", (handlers) =>
  Effect.map(Venues, (venues) =>
    handlers
      .handle("listCinemas", () => storeDefects(venues.listCinemas))
      .handle("listShowings", ({ urlParams }) => storeDefects(venues.list("showing", urlParams)))
      .handle("listEvents", ({ urlParams }) => storeDefects(venues.list("event", urlParams)))
      .handle("createCinema", ({ payload }) => storeDefects(venues.createCinema(payload)))
      .handle("createShowing", ({ payload }) => storeDefects(venues.createShowing(payload)))
      .handle("createEvent", ({ payload }) => storeDefects(venues.createEvent(payload)))
  ))
