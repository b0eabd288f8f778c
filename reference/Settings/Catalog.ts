/**
 * The catalog's renderings: seat-map thumbnails (SeatMap.ts).
 */
import { Context, Layer } from "effect"

/** seat-map rendering */
export interface CatalogSettings {
  /** seat-map thumbnail: one seat is a square of this many pixels, plus one pixel of spacing */
  readonly seatMapThumbnailSeatPx: number
}

export const defaultCatalogSettings: CatalogSettings = {
  seatMapThumbnailSeatPx: 3
}

/** The catalog settings a server runs with. */
export class CatalogConfig extends Context.Tag("CatalogConfig")<CatalogConfig, CatalogSettings>() {
  /** the defaults, with `overrides` over them */
  static readonly layer = (overrides: Partial<CatalogSettings> = {}) => Layer.succeed(CatalogConfig, { ...defaultCatalogSettings, ...overrides })
}
