/**
 * `chunyun serve --seed-catalog <scenario.ts>`: a scenario's catalog created in the fresh store at start, through
 * the admin API, by the setup a run does before its rush: the trains' runs and the gates of their boarding
 * stations (simulator/Setup.ts), and the cinema with its showings and gates (simulator/journeys/Cinema.ts). An
 * event is not among them: the fan journey's organiser creates it as part of the run (its history records it).
 */
import type { HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import { makeClient } from "../devices/Client.js"
import type { Scenario } from "../scenarios/Scenario.js"
import { setUpCinema } from "../simulator/journeys/Cinema.js"
import { setUp } from "../simulator/Setup.js"

export interface SeededCatalog {
  readonly runIds: ReadonlyArray<string>
  readonly gates: number
  /** the cinema's code and how many showings it got; none when the scenario has no cinema */
  readonly cinema?: { readonly code: string; readonly showings: number }
  /** the scenario has an event, which is not seeded */
  readonly eventLeftOut: boolean
}

/** A URL of this machine for the address a server listens on (all interfaces: the loopback one). */
export const loopbackUrlOf = (address: HttpServer.Address) => {
  if (address._tag !== "TcpAddress") throw new Error(`the server listens on ${address.path}, not a TCP port`)
  const host = address.hostname === "0.0.0.0" || address.hostname === "" ? "127.0.0.1"
    : address.hostname === "::" ? "[::1]"
    : address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname
  return `http://${host}:${address.port}`
}

export const seedCatalog = (scenario: Scenario, baseUrl: string, adminKey: string) =>
  Effect.gen(function* () {
    const prepared = yield* setUp(scenario, baseUrl, adminKey)
    const stationGates = [...prepared.gatesByStation.values()].reduce((sum, gates) => sum + gates.length, 0)
    const cinema = scenario.cinema
    const seededCinema = cinema === undefined ? undefined
      : yield* setUpCinema(cinema, scenario.gatesPerStation, baseUrl, yield* makeClient(baseUrl, { "x-admin-key": adminKey }))
    const seeded: SeededCatalog = {
      runIds: [...prepared.runIds, ...(seededCinema?.showings.map((showing) => showing.runId) ?? [])],
      gates: stationGates + (seededCinema?.gates.length ?? 0),
      ...(cinema === undefined || seededCinema === undefined ? {} : { cinema: { code: cinema.code, showings: seededCinema.showings.length } }),
      eventLeftOut: scenario.event !== undefined
    }
    return seeded
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`

/** The one line `serve` prints once the catalog is in. */
export const seededCatalogLine = (file: string, seeded: SeededCatalog) => {
  const showings = seeded.cinema?.showings ?? 0
  const trainRunIds = seeded.runIds.slice(0, seeded.runIds.length - showings)
  const parts = [
    `${plural(trainRunIds.length, "train run")}${trainRunIds.length === 0 ? "" : ` (${trainRunIds.join(", ")})`}`,
    ...(seeded.cinema === undefined ? [] : [`cinema ${seeded.cinema.code} with ${plural(showings, "showing")}`]),
    plural(seeded.gates, "gate")
  ]
  const event = seeded.eventLeftOut ? "; its event is not seeded (a run's fan journey creates it)" : ""
  return `chunyun: catalog of ${file} loaded: ${parts.join(", ")}${event}`
}

/** Why the catalog did not load, in a line: the API's tagged refusal and its fields, or the failure's message. */
export const seedFailureText = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause)
  if (typeof error === "object" && error !== null && "_tag" in error) {
    const { _tag, ...fields } = error as { readonly _tag: unknown }
    const details = Object.entries(fields).map(([name, value]) => `${name}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
    return `${String(_tag)}${details.length === 0 ? "" : ` (${details.join(", ")})`}`
  }
  return error instanceof Error ? error.message : String(error)
}
