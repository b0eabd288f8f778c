/**
 * node:test's TAP reporter, with every test name and the run's summary prefixed by the store the run used
 * (`CHUNYUN_TEST_STORE`), so a failure in the PostgreSQL pass says so wherever its line is read.
 */
import { tap } from "node:test/reporters"

const label = `[${process.env.CHUNYUN_TEST_STORE ?? "sqlite"}]`
const namedEvents = new Set(["test:enqueue", "test:dequeue", "test:start", "test:pass", "test:fail"])

async function* labelled(source) {
  for await (const event of source) {
    if (namedEvents.has(event.type) && typeof event.data?.name === "string") event.data.name = `${label} ${event.data.name}`
    if (event.type === "test:diagnostic" && event.data?.nesting === 0) event.data.message = `${label} ${event.data.message}`
    yield event
  }
}

export default async function* storeReporter(source) {
  yield* tap(labelled(source))
}
