/**
 * The server's clock in real mode: it starts at the scenario's start, runs `scale` times faster than the
 * wall clock, and takes the harness's jumps over the idle stretches (an IPC message, acknowledged before
 * the harness wakes any device). It lives in cli/ because it reads the wall clock, which the server's
 * logic never does.
 */
import { Clock, Duration, Effect } from "effect"

export interface ClockJump { readonly type: "clock-offset"; readonly offsetMs: number }

/** the environment variable a `serve --workers` primary hands its workers its wall start in (epoch ms) */
export const clockWallStartEnvironment = "CHUNYUN_CLOCK_WALL_START_MS"

/**
 * The clock reads `startMs` at the wall instant `wallStartMs` (epoch ms; by default now) and runs `scale` times as
 * fast. The workers of one `serve --workers` are given their primary's wall start, so they all read the same time
 * whenever each of them started.
 */
export const scaledClock = (startMs: number, scale: number, wallStartMs: number = performance.timeOrigin + performance.now()): Clock.Clock => {
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
