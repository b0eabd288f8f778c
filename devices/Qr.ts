/**
 * QR codes as pixels: the phone renders its ticket text to an RGBA image with the canvas, the gate
 * scanner decodes pixels with jsQR. Camera faults (glare, blur) are pure image transforms whose
 * parameters the caller draws from its seeded randomness, so a faulty scan is reproducible.
 */
import { createCanvas } from "@napi-rs/canvas"
import jsQR from "jsqr"
import QRCode from "qrcode"

export interface PixelImage {
  readonly width: number
  readonly height: number
  /** width × height pixels, 4 bytes each (R, G, B, A), row by row */
  readonly rgba: Uint8ClampedArray
}

export interface RenderOptions {
  readonly moduleSizePx?: number
  readonly marginModules?: number
}

export interface GlareSpot {
  readonly centerX: number
  readonly centerY: number
  readonly radiusPx: number
}

export const defaultModuleSizePx = 4
/** The QR standard asks for a 4-module quiet zone; scanners locate the code by it. */
export const defaultMarginModules = 4
export const maxModuleSizePx = 32
export const maxMarginModules = 16
export const maxEnlargeFactor = 8
export const maxBlurRadiusPx = 32
/** Medium error correction: survives about 15% damaged codewords, a common phone-screen choice. */
const errorCorrectionLevel = "M"
const bytesPerPixel = 4
const white = 255

/** The pixels as 32-bit words, one a pixel (the array's own bytes, not a copy). */
const pixelWords = (rgba: Uint8ClampedArray) =>
  rgba.byteOffset % Uint32Array.BYTES_PER_ELEMENT === 0
    ? new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length / bytesPerPixel)
    : new Uint32Array(new Uint8ClampedArray(rgba).buffer)

const assertIntegerInRange = (name: string, value: number, min: number, max: number): void => {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer ${min}..${max}, got ${value}`)
  }
}

const assertWellFormed = (image: PixelImage, caller: string): void => {
  const { width, height, rgba } = image
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${caller}: image size must be positive integers, got ${width}×${height}`)
  }
  if (rgba.length !== width * height * bytesPerPixel) {
    throw new Error(`${caller}: rgba holds ${rgba.length} bytes, expected ${width * height * bytesPerPixel}`)
  }
}

/** Renders text as a black-on-white QR code (error correction M). Same text, same pixels. */
export const renderQr = (text: string, options: RenderOptions = {}): PixelImage => {
  const moduleSizePx = options.moduleSizePx ?? defaultModuleSizePx
  const marginModules = options.marginModules ?? defaultMarginModules
  assertIntegerInRange("renderQr: moduleSizePx", moduleSizePx, 1, maxModuleSizePx)
  assertIntegerInRange("renderQr: marginModules", marginModules, 0, maxMarginModules)
  const modules = QRCode.create(text, { errorCorrectionLevel }).modules
  const sizePx = (modules.size + 2 * marginModules) * moduleSizePx
  const canvas = createCanvas(sizePx, sizePx)
  const context = canvas.getContext("2d")
  context.fillStyle = "#ffffff"
  context.fillRect(0, 0, sizePx, sizePx)
  context.fillStyle = "#000000"
  for (let row = 0; row < modules.size; row++) {
    for (let column = 0; column < modules.size; column++) {
      if (modules.get(row, column) === 0) continue
      const x = (column + marginModules) * moduleSizePx
      const y = (row + marginModules) * moduleSizePx
      context.fillRect(x, y, moduleSizePx, moduleSizePx)
    }
  }
  const imageData = context.getImageData(0, 0, sizePx, sizePx)
  // Copy out of the canvas's buffer so the image owns its pixels once the canvas is collected.
  return { width: sizePx, height: sizePx, rgba: new Uint8ClampedArray(imageData.data) }
}

/** What a gate camera reads: the QR text, or undefined when no code can be decoded. */
export const decodeQr = (image: PixelImage): string | undefined => {
  assertWellFormed(image, "decodeQr")
  // Phones show dark modules on a light screen; skipping the inverted pass halves the scan time.
  const code = jsQR(image.rgba, image.width, image.height, { inversionAttempts: "dontInvert" })
  return code === null ? undefined : code.data
}

/** The phone "enlarges" the code: nearest-neighbour scaling by an integer factor. */
export const enlargeQr = (image: PixelImage, factor: number): PixelImage => {
  assertWellFormed(image, "enlargeQr")
  assertIntegerInRange("enlargeQr: factor", factor, 1, maxEnlargeFactor)
  const width = image.width * factor
  const height = image.height * factor
  const rgba = new Uint8ClampedArray(width * height * bytesPerPixel)
  // one 32-bit word a pixel: a pixel is copied whole, whatever the byte order
  const source = pixelWords(image.rgba)
  const target = pixelWords(rgba)
  for (let sourceY = 0; sourceY < image.height; sourceY++) {
    const firstRowStart = sourceY * factor * width
    const sourceRowStart = sourceY * image.width
    let at = firstRowStart
    for (let sourceX = 0; sourceX < image.width; sourceX++) {
      const pixel = source[sourceRowStart + sourceX]!
      for (let repeat = 0; repeat < factor; repeat++) target[at++] = pixel
    }
    // The other rows of this band are copies of its first row.
    for (let repeat = 1; repeat < factor; repeat++) {
      target.copyWithin(firstRowStart + repeat * width, firstRowStart, firstRowStart + width)
    }
  }
  return { width, height, rgba }
}

/** Glare on the phone screen: washes a disc to white. Pixels outside the disc are unchanged. */
export const applyGlare = (image: PixelImage, spot: GlareSpot): PixelImage => {
  assertWellFormed(image, "applyGlare")
  const { centerX, centerY, radiusPx } = spot
  if (!Number.isFinite(centerX) || !Number.isFinite(centerY) || !Number.isFinite(radiusPx) || radiusPx < 0) {
    throw new Error(`applyGlare: need finite centre and radius ≥ 0, got (${centerX}, ${centerY}) r=${radiusPx}`)
  }
  const rgba = new Uint8ClampedArray(image.rgba)
  const radiusSquared = radiusPx * radiusPx
  // Only rows and columns that can intersect the disc; pixel centres sit at +0.5.
  const firstY = Math.max(0, Math.floor(centerY - radiusPx))
  const lastY = Math.min(image.height - 1, Math.ceil(centerY + radiusPx))
  const firstX = Math.max(0, Math.floor(centerX - radiusPx))
  const lastX = Math.min(image.width - 1, Math.ceil(centerX + radiusPx))
  for (let y = firstY; y <= lastY; y++) {
    for (let x = firstX; x <= lastX; x++) {
      const dx = x + 0.5 - centerX
      const dy = y + 0.5 - centerY
      if (dx * dx + dy * dy > radiusSquared) continue
      const offset = (y * image.width + x) * bytesPerPixel
      rgba.fill(white, offset, offset + bytesPerPixel)
    }
  }
  return { width: image.width, height: image.height, rgba }
}

/**
 * One box-blur pass along rows (step 1 pixel) or columns; edges repeat the border pixel. The window's sum slides
 * along the line (one pixel in, one out), so a pass costs the same whatever the radius: an enlarged code under a
 * wide blur stays cheap to decode.
 */
const boxBlurPass = (image: PixelImage, radiusPx: number, direction: "horizontal" | "vertical"): Uint8ClampedArray => {
  const { width, height, rgba: source } = image
  const blurred = new Uint8ClampedArray(source.length)
  const windowPixels = 2 * radiusPx + 1
  const lineLength = direction === "horizontal" ? width : height
  const lineCount = direction === "horizontal" ? height : width
  // byte distance between neighbours along a line, and between the starts of two lines
  const pixelStep = direction === "horizontal" ? bytesPerPixel : width * bytesPerPixel
  const lineStep = direction === "horizontal" ? width * bytesPerPixel : bytesPerPixel
  const lastPosition = lineLength - 1
  for (let line = 0; line < lineCount; line++) {
    for (let channel = 0; channel < bytesPerPixel; channel++) {
      const first = line * lineStep + channel
      let sum = 0
      for (let delta = -radiusPx; delta <= radiusPx; delta++) sum += source[first + Math.min(lastPosition, Math.max(0, delta)) * pixelStep] ?? 0
      for (let position = 0; position < lineLength; position++) {
        blurred[first + position * pixelStep] = Math.round(sum / windowPixels)
        const entering = Math.min(lastPosition, position + radiusPx + 1)
        const leaving = Math.max(0, position - radiusPx)
        sum += (source[first + entering * pixelStep] ?? 0) - (source[first + leaving * pixelStep] ?? 0)
      }
    }
  }
  return blurred
}

/**
 * The grey plane of an image whose pixels are all grey (R = G = B) and opaque, or undefined. Every rendered code
 * is one (black and white, glare washes to white), and a blur keeps it one: its channels are blurred alike.
 */
const greyPlaneOf = (image: PixelImage): Uint8ClampedArray | undefined => {
  const { rgba } = image
  const grey = new Uint8ClampedArray(image.width * image.height)
  for (let pixel = 0, offset = 0; offset < rgba.length; pixel++, offset += bytesPerPixel) {
    const red = rgba[offset]!
    if (rgba[offset + 1] !== red || rgba[offset + 2] !== red || rgba[offset + 3] !== white) return undefined
    grey[pixel] = red
  }
  return grey
}

/** `boxBlurPass` on one channel, one byte a pixel: the same numbers as each of R, G and B of the grey image. */
const greyBlurPass = (source: Uint8ClampedArray, width: number, height: number, radiusPx: number, direction: "horizontal" | "vertical") => {
  const blurred = new Uint8ClampedArray(source.length)
  const windowPixels = 2 * radiusPx + 1
  // the window's mean of every sum it can have, rounded as `boxBlurPass` rounds it
  const meanOf = new Uint8Array(white * windowPixels + 1)
  for (let sum = 0; sum < meanOf.length; sum++) meanOf[sum] = Math.round(sum / windowPixels)
  const lineLength = direction === "horizontal" ? width : height
  const lineCount = direction === "horizontal" ? height : width
  const pixelStep = direction === "horizontal" ? 1 : width
  const lineStep = direction === "horizontal" ? width : 1
  const lastPosition = lineLength - 1
  for (let line = 0; line < lineCount; line++) {
    const first = line * lineStep
    let sum = 0
    for (let delta = -radiusPx; delta <= radiusPx; delta++) sum += source[first + Math.min(lastPosition, Math.max(0, delta)) * pixelStep]!
    for (let position = 0; position < lineLength; position++) {
      blurred[first + position * pixelStep] = meanOf[sum]!
      const entering = Math.min(lastPosition, position + radiusPx + 1)
      const leaving = Math.max(0, position - radiusPx)
      sum += source[first + entering * pixelStep]! - source[first + leaving * pixelStep]!
    }
  }
  return blurred
}

/** An out-of-focus camera: a box blur of the given radius (0 leaves the image as it is). */
export const applyBlur = (image: PixelImage, radiusPx: number): PixelImage => {
  assertWellFormed(image, "applyBlur")
  assertIntegerInRange("applyBlur: radiusPx", radiusPx, 0, maxBlurRadiusPx)
  // A box blur is separable: rows then columns gives the square window (up to rounding) in a few reads a pixel, not (2r+1)².
  const grey = greyPlaneOf(image)
  if (grey === undefined) {
    const horizontal = { width: image.width, height: image.height, rgba: boxBlurPass(image, radiusPx, "horizontal") }
    return { width: image.width, height: image.height, rgba: boxBlurPass(horizontal, radiusPx, "vertical") }
  }
  // a grey opaque image: its three colour channels blur alike and its alpha stays opaque, so one channel is blurred
  const blurred = greyBlurPass(greyBlurPass(grey, image.width, image.height, radiusPx, "horizontal"), image.width, image.height, radiusPx, "vertical")
  const rgba = new Uint8ClampedArray(image.rgba.length)
  for (let pixel = 0, offset = 0; pixel < blurred.length; pixel++, offset += bytesPerPixel) {
    const value = blurred[pixel]!
    rgba[offset] = value
    rgba[offset + 1] = value
    rgba[offset + 2] = value
    rgba[offset + 3] = white
  }
  return { width: image.width, height: image.height, rgba }
}
