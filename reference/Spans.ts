/**
 * The options of every service method's span (`Effect.withSpan(name, spanOptions)`). Spans are recorded only
 * when the server runs with `--trace`, but each `withSpan` call still captures its caller's stack trace (a new
 * `Error` per call) unless told not to; on the order path that was about 1 % of the server's CPU. A span's name
 * says where it comes from.
 */
export const spanOptions = { captureStackTrace: false } as const
