/**
 * The seat-map sales-status thumbnail (seed 004 [0040], [0061]): the whole hall, coach or venue in a
 * few hundred pixels, one coloured square a seat, so a phone shows where the free seats are at once.
 * Pure: the same sections give the same PNG bytes.
 */
import { createCanvas } from "@napi-rs/canvas"

export type SeatStatus = "free" | "held" | "sold"

/** One character a grid cell in a row's `cells` string. */
export const seatMapLegend = { free: "o", held: "h", sold: "x", gap: "." } as const

/** RGB of each status; a gap stays background. */
export const seatStatusRgb: Readonly<Record<SeatStatus, readonly [number, number, number]>> = {
  free: [46, 125, 50],
  held: [249, 168, 37],
  sold: [198, 40, 40]
}
export const backgroundRgb = [255, 255, 255] as const

/** A blank grid row between two sections, so coaches or zones stay apart on the picture. */
export const sectionSpacingRows = 1

const statusOfCell = new Map<string, SeatStatus>([
  [seatMapLegend.free, "free"], [seatMapLegend.held, "held"], [seatMapLegend.sold, "sold"]
])
const cssRgb = ([red, green, blue]: readonly [number, number, number]) => `rgb(${red}, ${green}, ${blue})`

export interface ThumbnailSection {
  readonly rows: ReadonlyArray<{ readonly cells: string }>
}

/** The thumbnail row at which each section starts: sections are stacked top to bottom. */
export const sectionFirstRows = (sections: ReadonlyArray<ThumbnailSection>) => {
  const firstRows: Array<number> = []
  let next = 0
  for (const section of sections) {
    firstRows.push(next)
    next += section.rows.length + sectionSpacingRows
  }
  return firstRows
}

/**
 * PNG of the sections: the seat in grid column c of row r of section s is the `seatPx` square at
 * x = c · pitch, y = (sectionFirstRows[s] + r) · pitch, with pitch = seatPx + 1.
 */
export const renderThumbnail = (sections: ReadonlyArray<ThumbnailSection>, seatPx: number) => {
  const cellPitchPx = seatPx + 1
  const firstRows = sectionFirstRows(sections)
  const columns = Math.max(1, ...sections.flatMap((section) => section.rows.map((row) => row.cells.length)))
  const gridRows = Math.max(1, sections.reduce((sum, section) => sum + section.rows.length, 0) + sectionSpacingRows * (sections.length - 1))
  const widthPx = columns * cellPitchPx
  const heightPx = gridRows * cellPitchPx
  const canvas = createCanvas(widthPx, heightPx)
  const context = canvas.getContext("2d")
  context.fillStyle = cssRgb(backgroundRgb)
  context.fillRect(0, 0, widthPx, heightPx)
  sections.forEach((section, sectionIndex) => {
    section.rows.forEach((row, rowIndex) => {
      for (let column = 0; column < row.cells.length; column++) {
        const status = statusOfCell.get(row.cells[column]!)
        if (status === undefined) continue
        context.fillStyle = cssRgb(seatStatusRgb[status])
        context.fillRect(column * cellPitchPx, (firstRows[sectionIndex]! + rowIndex) * cellPitchPx, seatPx, seatPx)
      }
    })
  })
  return { widthPx, heightPx, cellPitchPx, pngBase64: canvas.toBuffer("image/png").toString("base64") }
}
