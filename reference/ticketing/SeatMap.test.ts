/**
 * The seat-map query over real HTTP (seed 004 [0040]): per seat free / held / sold for a run's journey,
 * as grid rows and as a PNG thumbnail whose pixels say the same. Held and sold come from live orders at
 * the Clock's now, so an expired hold the sweeper has not reached yet is shown free.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { createCanvas, loadImage } from "@napi-rs/canvas"
import { Effect } from "effect"
import type { SeatMap } from "./Catalog/Api.js"
import type { Fen, RunId, StationCode, TrainCode } from "../Domain.js"
import { backgroundRgb, seatStatusRgb } from "./SeatMap/Thumbnail.js"
import { buyTicket, createTestCinema, createTestShowing, venueHold } from "../testing/Catalog.js"
import {
  adminClient, anonymousClient, departingSoon, newCustomer, rawRequest, startTestServer, storeQuery
} from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"

/** RGB of the thumbnail's pixel at the centre of grid cell (row, column), counting rows over all sections. */
const pixelsOf = async (map: SeatMap) => {
  const thumbnail = map.thumbnail
  assert.ok(thumbnail, "the map has a thumbnail")
  const image = await loadImage(Buffer.from(thumbnail.pngBase64, "base64"))
  assert.deepEqual([image.width, image.height], [thumbnail.widthPx, thumbnail.heightPx])
  const canvas = createCanvas(image.width, image.height)
  const context = canvas.getContext("2d")
  context.drawImage(image, 0, 0)
  const data = context.getImageData(0, 0, image.width, image.height).data
  return (row: number, column: number) => {
    const pitch = thumbnail.cellPitchPx
    const offset = ((row * pitch + 1) * image.width + (column * pitch + 1)) * 4
    return [data[offset], data[offset + 1], data[offset + 2]]
  }
}

describe("seat map", () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(() => server.close())

  const seatMapOf = (runId: RunId, from?: string, to?: string, thumbnail?: boolean) =>
    server.run(Effect.flatMap(anonymousClient(server.baseUrl), (client) => client.catalog.seatMap({
      path: { runId },
      urlParams: { ...(from ? { from: from as StationCode } : {}), ...(to ? { to: to as StationCode } : {}), ...(thumbnail === undefined ? {} : { thumbnail }) }
    })))

  test("a showing's map: held, sold, and an expired hold shown free, in the grid and on the thumbnail", async () => {
    await server.run(createTestCinema(server.baseUrl, "SMA"))
    const showing = await server.run(createTestShowing(server.baseUrl, "SMA", "F2000", 60))
    const [holder, buyer, late] = await server.run(Effect.all([1, 2, 3].map(() => newCustomer(server.baseUrl))))
    const stale = await server.run(late!.client.orders.hold({ payload: venueHold(showing.runId, "SMA", { seat: { coach: 1, seatCode: "01-02" } }) }))
    // the hold's time has passed, the sweeper has not come: its bits are still set on the seat
    await server.run(storeQuery(`UPDATE orders SET hold_expires_at_ms = 0 WHERE id = ?`, stale.orderId))
    await server.run(holder!.client.orders.hold({ payload: venueHold(showing.runId, "SMA", { seat: { coach: 1, seatCode: "01-01" } }) }))
    await server.run(buyTicket(buyer!, venueHold(showing.runId, "SMA", { seat: { coach: 1, seatCode: "03-02" } })))

    const map = await seatMapOf(showing.runId)
    assert.equal(map.kind, "showing")
    assert.deepEqual([map.fromStation, map.toStation], ["SMA", "SMA"])
    assert.deepEqual(map.counts, { free: 14, held: 1, sold: 1 })
    assert.equal(map.sections.length, 1)
    assert.deepEqual(map.sections[0]!.rows.map((row) => row.cells), ["hoo.ooo", "ooo.ooo", ".......", ".ox.oo."])
    assert.deepEqual(map.sections[0]!.rows[0]!.seatCodes, ["01-01", "01-02", "01-03", "01-04", "01-05", "01-06"])
    assert.deepEqual(map.sections[0]!.rows[2]!.seatCodes, [])
    assert.deepEqual(map.sections[0]!.rows[3]!.seatCodes, ["03-01", "03-02", "03-03", "03-04"])

    const thumbnail = map.thumbnail
    assert.ok(thumbnail, "a map asked for without options has a thumbnail")
    assert.equal(thumbnail.cellPitchPx, server.settings.seatMapThumbnailSeatPx + 1)
    assert.deepEqual([thumbnail.widthPx, thumbnail.heightPx], [7 * thumbnail.cellPitchPx, 4 * thumbnail.cellPitchPx])
    const pixel = await pixelsOf(map)
    assert.deepEqual(pixel(0, 0), [...seatStatusRgb.held])
    assert.deepEqual(pixel(0, 1), [...seatStatusRgb.free])
    assert.deepEqual(pixel(3, 2), [...seatStatusRgb.sold])
    assert.deepEqual(pixel(0, 3), [...backgroundRgb], "the aisle stays background")
    assert.deepEqual(pixel(2, 1), [...backgroundRgb], "the cross aisle stays background")

    const listOnly = await seatMapOf(showing.runId, undefined, undefined, false)
    assert.equal(listOnly.thumbnail, undefined, "thumbnail=false leaves the picture out")
    const { thumbnail: _, atMs: __, ...withoutPicture } = map
    const { atMs: ___, ...listed } = listOnly
    assert.deepEqual(listed, withoutPicture, "the seat list is the same with or without the picture")
  })

  test("a train's map is per journey, coaches stacked on the thumbnail", async () => {
    const admin = await server.run(adminClient(server.baseUrl))
    const soon = departingSoon(Date.now(), 3)
    const created = await server.run(admin.catalog.createRun({
      payload: {
        trainCode: "G2100" as TrainCode, serviceDate: soon.serviceDate,
        stops: ["AAA", "BBB", "CCC"].map((station, index) => ({
          station: station as StationCode, name: station, departureMinuteOfDay: soon.firstDepartureMinuteOfDay + 5 * index
        })),
        coaches: [{ coach: 1, seatClass: "second", seatCount: 2 }, { coach: 2, seatClass: "first", seatCount: 3 }],
        fareFenPerSegment: [1_000 as Fen, 1_000 as Fen]
      }
    }))
    const customer = await server.run(newCustomer(server.baseUrl))
    await server.run(customer.client.orders.hold({
      payload: { runId: created.runId, fromStation: "AAA" as StationCode, toStation: "BBB" as StationCode, seat: { coach: 2, seatCode: "01A" } }
    }))
    const later = await seatMapOf(created.runId, "BBB", "CCC")
    assert.deepEqual(later.counts, { free: 5, held: 0, sold: 0 })
    const whole = await seatMapOf(created.runId, "AAA", "CCC")
    assert.deepEqual(whole.counts, { free: 4, held: 1, sold: 0 })
    assert.deepEqual(whole.sections.map((section) => [section.section, section.name, section.rows.map((row) => row.cells)]), [
      [1, "coach 1 (second)", ["oo"]],
      [2, "coach 2 (first)", ["hoo"]]
    ])
    // coach 2 starts after coach 1's one row and one blank row
    const pixel = await pixelsOf(whole)
    assert.deepEqual(pixel(0, 0), [...seatStatusRgb.free])
    assert.deepEqual(pixel(1, 0), [...backgroundRgb])
    assert.deepEqual(pixel(2, 0), [...seatStatusRgb.held])
  })

  test("a train's map needs its journey; an unknown run is 404", async () => {
    const admin = await server.run(adminClient(server.baseUrl))
    const soon = departingSoon(Date.now(), 2)
    const created = await server.run(admin.catalog.createRun({
      payload: {
        trainCode: "G2101" as TrainCode, serviceDate: soon.serviceDate,
        stops: ["AAA", "BBB"].map((station, index) => ({
          station: station as StationCode, name: station, departureMinuteOfDay: soon.firstDepartureMinuteOfDay + 5 * index
        })),
        coaches: [{ coach: 1, seatClass: "second", seatCount: 2 }], fareFenPerSegment: [1_000 as Fen]
      }
    }))
    const noJourney = await rawRequest(server.baseUrl, "GET", `/runs/${created.runId}/seat-map`)
    assert.equal(noJourney.status, 422)
    assert.equal((noJourney.json as { _tag: string })._tag, "InvalidSegment")
    const backwards = await rawRequest(server.baseUrl, "GET", `/runs/${created.runId}/seat-map?from=BBB&to=AAA`)
    assert.equal(backwards.status, 422)
    const unknown = await rawRequest(server.baseUrl, "GET", `/runs/G9999-20300101/seat-map?from=AAA&to=BBB`)
    assert.equal(unknown.status, 404)
    assert.deepEqual(unknown.json, { _tag: "TrainRunNotFound", runId: "G9999-20300101" })
    const badId = await rawRequest(server.baseUrl, "GET", `/runs/not-a-run/seat-map`)
    assert.equal(badId.status, 400)
  })
})
