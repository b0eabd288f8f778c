/**
 * The gates' cameras under the scenario's camera faults (scenarios/Faults.ts). Glare falls on the first
 * `cameraShare` of the gates and damages a capture with its `damageRate`; blur is on every capture of the first
 * `cameraShare` of the gates. Nothing is drawn from Random unless a camera fault is active, so a run without
 * camera faults keeps its trace.
 */
import { Effect, Random } from "effect"
import type { Capture, GlareFraction } from "../devices/GateScanner.js"
import type { FaultSchedule } from "../devices/Instruments.js"

/** Whether gate `gateIndex` of `gateCount` is among the first `share` of them (rounded up; default: all). */
export const isAmongFirstShare = (gateIndex: number, gateCount: number, share: number | undefined) =>
  gateIndex < Math.ceil((share ?? 1) * gateCount)

/** Where the light falls on the screen: anywhere over the code, a tenth to a fifth of its width across (three draws). */
export const drawGlareSpot: Effect.Effect<GlareFraction> = Effect.gen(function* () {
  return { centerXFraction: yield* Random.nextRange(0.1, 0.9), centerYFraction: yield* Random.nextRange(0.1, 0.9), radiusFraction: yield* Random.nextRange(0.1, 0.2) }
})

/** The camera of a station's gate `gateIndex` (of `gatesPerStation`) now: glare drawn for this capture, the blur of an out-of-focus lens. */
export const stationGateCamera = (faults: FaultSchedule, gatesPerStation: number) => (gateIndex: number): Effect.Effect<Capture> =>
  Effect.gen(function* () {
    const glareFault = yield* faults.active("camera-glare")
    const blurFault = yield* faults.active("camera-blur")
    const glared = glareFault !== undefined && isAmongFirstShare(gateIndex, gatesPerStation, glareFault.cameraShare) &&
      (yield* Random.next) < glareFault.damageRate
    const glare = glared ? yield* drawGlareSpot : undefined
    const blurred = blurFault !== undefined && isAmongFirstShare(gateIndex, gatesPerStation, blurFault.cameraShare)
    return {
      ...(glare === undefined ? {} : { glare }),
      ...(blurred ? { blurRadiusPx: blurFault.blurRadiusPx } : {})
    }
  })
