/**
 * What each mode gives the devices as their instruments (devices/Instruments.ts): the run's history as the
 * recorder, the network as the mode models it, and the scenario's fault schedule.
 */
import { Context, Effect, Random } from "effect"
import { Faults, HistoryRecorder, NetworkModel } from "../devices/Instruments.js"
import type { FaultSchedule, Instruments, Network, Recorder } from "../devices/Instruments.js"

/**
 * Virtual mode's network: each request waits a one-way delay before it leaves and another after its answer is
 * back (none after a failure), each a uniform draw from `delayMs` slept on the clock.
 */
export const simulatedNetwork = (delayMs: { readonly min: number; readonly max: number }): Network => {
  const delay = Effect.flatMap(Random.nextIntBetween(delayMs.min, delayMs.max + 1), (ms) => Effect.sleep(ms))
  return { overTheNetwork: (request) => delay.pipe(Effect.zipRight(request), Effect.zipLeft(delay)) }
}

/** Real mode's network: the real one, to which the harness adds nothing. */
export const directNetwork: Network = { overTheNetwork: (request) => request }

/** The instruments of a run, to provide to its devices. */
export const instrumentsOf = (history: Recorder, network: Network, faults: FaultSchedule): Context.Context<Instruments> =>
  Context.make(HistoryRecorder, history).pipe(Context.add(NetworkModel, network), Context.add(Faults, faults))
