/**
 * A wall clock that starts at a given instant and runs `scale` times faster: real mode compresses a
 * scenario's hours into minutes, and the server must see the same compressed time as the devices (hold
 * TTLs, check-in windows). Lives in cli/ because it reads the wall clock, which the server logic never does.
 */
import { Clock, Duration, Effect } from "effect"

export const scaledClock = (startMs: number, scale: number): Clock.Clock => {
  const wallStartMs = performance.timeOrigin + performance.now()
  const now = () => Math.floor(startMs + (performance.timeOrigin + performance.now() - wallStartMs) * scale)
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    unsafeCurrentTimeNanos: () => BigInt(now()) * 1_000_000n,
    currentTimeMillis: Effect.sync(now),
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    sleep: (duration) => Effect.sleep(Duration.millis(Duration.toMillis(duration) / scale)).pipe(Effect.withClock(Clock.make()))
  }
}
