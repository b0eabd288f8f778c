/**
 * The server's clock in real mode: it starts at the scenario's start, runs `scale` times faster than the
 * wall clock, and takes the harness's jumps over the idle stretches (an IPC message, acknowledged before
 * the harness wakes any device). It lives in cli/ because it reads the wall clock, which the server's
 * logic never does.
 */
import { Clock, Duration, Effect } from "effect"

export interface ClockJump { readonly type: "clock-offset"; readonly offsetMs: number }

export const scaledClock = (startMs: number, scale: number): Clock.Clock => {
  const wallStartMs = performance.timeOrigin + performance.now()
  let offsetMs = 0
  process.on("message", (message: ClockJump) => {
    if (message?.type !== "clock-offset") return
    offsetMs = Math.max(offsetMs, message.offsetMs)
    process.send?.({ type: "clock-offset-ack", offsetMs })
  })
  const now = () => Math.floor(startMs + (performance.timeOrigin + performance.now() - wallStartMs) * scale + offsetMs)
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    unsafeCurrentTimeNanos: () => BigInt(now()) * 1_000_000n,
    currentTimeMillis: Effect.sync(now),
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    sleep: (duration) => Effect.sleep(Duration.millis(Duration.toMillis(duration) / scale)).pipe(Effect.withClock(Clock.make()))
  }
}
