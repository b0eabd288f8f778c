/**
 * A served instance answers every request it accepts: one that arrives while the server starts (its store still
 * opening, migrations running) is told to come back (503 `ServerStarting`, `Retry-After`), and one the server
 * cannot finish within `requestTimeoutMs` is answered `RequestTimedOut` (503) instead of hanging.
 */
import assert from "node:assert/strict"
import { createServer } from "node:net"
import { test } from "node:test"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { startingRetryAfterSeconds } from "./operations/RequestGuard.js"
import { serveLayer } from "./Server.js"
import { generateServeSecrets } from "./ServeSecrets.js"
import { openTestStore, testStoreKind } from "./testing/TestStore.js"
import { adminClient, newCustomer, rawRequest, tagOf, testPasswordHashCostN, withTestServer } from "./testing/TestServer.js"

/** how long a test waits for any one answer: a request that hangs fails the test instead of the run */
const answerWithinMs = 10_000

/** A port of 127.0.0.1 nobody listens on (the server must be given one: it tells its address only once ready). */
const freePort = () => new Promise<number>((resolve, reject) => {
  const probe = createServer()
  probe.once("error", reject)
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    probe.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
  })
})

class NoAnswer extends Error {}

/** GET `url`: its status, Retry-After and JSON body; `NoAnswer` when it hangs; a refused connection as fetch fails it. */
const ask = async (url: string) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(answerWithinMs) }).catch((error: unknown) => {
    throw error instanceof Error && error.name === "TimeoutError" ? new NoAnswer(`no answer from ${url} within ${answerWithinMs} ms`) : error
  })
  const text = await response.text()
  return { status: response.status, retryAfter: response.headers.get("retry-after"), json: JSON.parse(text) as unknown }
}

test("a request sent while the store is still opening gets an answer: 503 ServerStarting with Retry-After, then service", async () => {
  const store = await openTestStore(testStoreKind())
  const port = await freePort()
  const storeOpens = Effect.runSync(Deferred.make<void>())
  // the store (and so the migrations and every service over it) is held until the test lets it open
  const heldStore = Layer.unwrapEffect(Effect.as(Deferred.await(storeOpens), store.layer))
  const served = Effect.runFork(Layer.launch(serveLayer({
    port, host: "127.0.0.1", store: heldStore, settings: { passwordHashCostN: testPasswordHashCostN },
    secrets: generateServeSecrets(), onServing: () => undefined
  })))
  try {
    const url = `http://127.0.0.1:${port}/ticket-keys`
    let early: Awaited<ReturnType<typeof ask>> | undefined
    for (let attempt = 0; attempt < 100 && early === undefined; attempt++) {
      early = await ask(url).catch(async (error: unknown) => {
        // the socket may not listen yet (a refused connection): try again; a request left hanging fails the test
        if (error instanceof NoAnswer) throw error
        await new Promise((resolve) => setTimeout(resolve, 50))
        return undefined
      })
    }
    assert.ok(early, "the server never opened its socket")
    assert.equal(early.status, 503)
    assert.equal(tagOf(early.json), "ServerStarting")
    assert.equal(early.retryAfter, String(startingRetryAfterSeconds))
    Effect.runSync(Deferred.succeed(storeOpens, undefined))
    let ready = early
    for (let attempt = 0; attempt < 200 && ready.status === 503; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      ready = await ask(url)
    }
    assert.equal(ready.status, 200, JSON.stringify(ready.json))
  } finally {
    await Effect.runPromise(Fiber.interrupt(served))
    await store.release()
  }
})

test("a request the server cannot finish within requestTimeoutMs is answered RequestTimedOut (503)", async () => {
  const requestTimeoutMs = 300
  await withTestServer({ requestTimeoutMs }, async (server) => {
    const admin = await server.run(adminClient(server.baseUrl))
    // every transaction now waits far longer than the timeout at a slow disk
    await server.run(admin.backup.setStoreConditions({ payload: { delayMs: 20 * requestTimeoutMs } }))
    try {
      const answer = await rawRequest(server.baseUrl, "POST", "/customers", {
        body: { phone: "13700000077", password: "long enough password", paymentPassword: "123456", residentId: "11010519491231002X" }
      })
      assert.equal(answer.status, 503, JSON.stringify(answer.json))
      assert.equal(tagOf(answer.json), "RequestTimedOut")
      assert.equal((answer.json as { timeoutMs?: unknown }).timeoutMs, requestTimeoutMs)
    } finally {
      await server.run(untilAnswered(admin.backup.setStoreConditions({ payload: { delayMs: 0 } })))
    }
    // the server goes on serving (on a busy machine a request may still outlast the short timeout: it is asked again)
    await server.run(untilAnswered(newCustomer(server.baseUrl)))
  })
})

/** how many times a request that timed out is asked again before the test gives up */
const maxTimedOutAttempts = 20

/** `request` again while it is answered RequestTimedOut, at most `maxTimedOutAttempts` times */
const untilAnswered = <A, E, R>(request: Effect.Effect<A, E, R>) =>
  Effect.retry(request, { while: (error) => tagOf(error) === "RequestTimedOut", times: maxTimedOutAttempts - 1 })
