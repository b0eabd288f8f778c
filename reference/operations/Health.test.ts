/**
 * `GET /health`: no credentials, 200 with a small JSON body while the store answers, 503 `StoreUnavailable` when
 * it refuses or does not answer in time; and it is part of the one contract, so the OpenAPI document lists it.
 */
import assert from "node:assert/strict"
import { after, before, test } from "node:test"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Either, Fiber, Layer, TestClock, TestContext } from "effect"
import { Health, healthStoreTimeoutMs } from "./Health.js"
import { startTestServer, rawRequest, tagOf } from "../testing/TestServer.js"
import type { TestServer } from "../testing/TestServer.js"

let server: TestServer
before(async () => { server = await startTestServer() })
after(() => server.close())

test("GET /health answers 200 { status: ok, store: ok, clockMs } without credentials", async () => {
  const response = await rawRequest(server.baseUrl, "GET", "/health")
  assert.equal(response.status, 200, response.text)
  assert.match(response.contentType ?? "", /^application\/json/)
  const { clockMs, ...rest } = response.json as { clockMs?: unknown }
  assert.deepEqual(rest, { status: "ok", store: "ok" })
  assert.ok(typeof clockMs === "number" && Number.isInteger(clockMs), `the server's clock: ${String(clockMs)}`)
})

test("the OpenAPI document lists GET /health with no security and its 503", async () => {
  const document = (await rawRequest(server.baseUrl, "GET", "/openapi.json")).json as {
    paths: Record<string, Record<string, { security?: ReadonlyArray<unknown>; responses: Record<string, unknown> }>>
  }
  const operation = document.paths["/health"]?.["get"]
  assert.ok(operation, `no GET /health in ${Object.keys(document.paths).join(", ")}`)
  assert.deepEqual(operation.security ?? [], [])
  assert.ok("200" in operation.responses && "503" in operation.responses, JSON.stringify(Object.keys(operation.responses)))
})

/** A store whose every query runs `answer` instead: the health check reads nothing else of it. */
const storeAnswering = (answer: Effect.Effect<never, SqlError>) =>
  Layer.succeed(SqlClient.SqlClient, (() => answer) as unknown as SqlClient.SqlClient)

const checkWith = (answer: Effect.Effect<never, SqlError>) =>
  Effect.flatMap(Health, (health) => health.check).pipe(Effect.provide(Health.Default.pipe(Layer.provide(storeAnswering(answer)))))

test("a store that refuses the query is StoreUnavailable", async () => {
  const result = await Effect.runPromise(Effect.either(checkWith(Effect.fail(new SqlError({ cause: new Error("connection refused"), message: "refused" })))))
  assert.ok(Either.isLeft(result))
  assert.equal(tagOf(result.left), "StoreUnavailable")
})

test("a store that does not answer within healthStoreTimeoutMs is StoreUnavailable", async () => {
  const result = await Effect.runPromise(Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.either(checkWith(Effect.never)))
    yield* TestClock.adjust(healthStoreTimeoutMs - 1)
    assert.equal(yield* Fiber.poll(fiber).pipe(Effect.map((exit) => exit._tag)), "None")
    yield* TestClock.adjust(1)
    // polled, not joined: a check with no time limit would leave the test waiting for ever
    const answered = yield* Fiber.poll(fiber)
    assert.equal(answered._tag, "Some", "no answer once healthStoreTimeoutMs had passed")
    return yield* Fiber.join(fiber)
  }).pipe(Effect.provide(TestContext.TestContext)))
  assert.ok(Either.isLeft(result))
  assert.equal(tagOf(result.left), "StoreUnavailable")
  assert.match(result.left.message, new RegExp(`${healthStoreTimeoutMs} ms`))
})
