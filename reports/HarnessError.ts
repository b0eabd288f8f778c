/**
 * The harness's own errors (a usage error, a file that does not decode, a run refused before it starts) as tagged
 * errors with a message: `_tag` names the kind, as the server's errors do, and each can be failed with in an Effect.
 * Made with `new Kind(message)`.
 */
import { Data } from "effect"

export const HarnessError = <const Tag extends string>(tag: Tag) =>
  class extends Data.TaggedError(tag)<{ readonly message: string }> {
    constructor(message: string) {
      super({ message })
    }
  }
