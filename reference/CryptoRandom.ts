/**
 * A `Random` backed by the operating system's CSPRNG, for `chunyun serve`: session tokens and keys
 * must not come from a PRNG whose seed can be guessed. Simulations use `Random.make(seed)` instead.
 */
import { randomInt, randomBytes } from "node:crypto"
import { Chunk, Effect, Random } from "effect"

const unitFloat = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48

const shuffleArray = <A>(elements: Iterable<A>): Array<A> => {
  const array = Array.from(elements)
  for (let index = array.length - 1; index > 0; index--) {
    const other = randomInt(index + 1)
    const held = array[index]!
    array[index] = array[other]!
    array[other] = held
  }
  return array
}

export const cryptoRandom: Random.Random = {
  [Random.RandomTypeId]: Random.RandomTypeId,
  next: Effect.sync(unitFloat),
  nextBoolean: Effect.sync(() => randomInt(2) === 1),
  nextInt: Effect.sync(() => randomInt(2 ** 31 - 1)),
  nextRange: (min, max) => Effect.sync(() => min + unitFloat() * (max - min)),
  nextIntBetween: (min, max) => Effect.sync(() => randomInt(min, max)),
  shuffle: (elements) => Effect.sync(() => Chunk.fromIterable(shuffleArray(elements)))
} as Random.Random
