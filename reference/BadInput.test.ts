/**
 * Whatever a client sends, the server answers 4xx with a JSON body whose `_tag` names the problem:
 * never a 5xx, never an empty body. Raw `fetch`, because the typed client would refuse to send most
 * of these. Also: the OpenAPI document describes every endpoint of the contract.
 */
import assert from "node:assert/strict"
import { connect } from "node:net"
import { after, before, describe, test } from "node:test"
import { ChunyunApi } from "./Api.js"
import { maxAmountFen } from "./Domain.js"
import { plainExpectation } from "./operations/RequestGuard.js"
import {
  bearer, createRun, newCustomer, newGate, rawRequest, startTestServer, tagOf, withTestServer
} from "./testing/TestServer.js"
import type { TestCustomer, TestGate, TestRun, TestServer } from "./testing/TestServer.js"

interface BadRequest {
  readonly name: string
  readonly method: "GET" | "POST" | "PUT" | "DELETE"
  readonly path: string
  readonly headers?: Record<string, string>
  /** a string is sent as it is (malformed JSON); anything else is JSON-encoded */
  readonly body?: string | object
  readonly status: number
  readonly tag: string
}

const hugeStringChars = 1_000_000
/** Node reads at most 16 KiB of request line and headers */
const urlLongerThanParserChars = 20_000
/** longer than any field allows, shorter than the body limit: the decode error must not quote it whole */
const longStringChars = 20_000
const wellFormedMissingOrderId = "O0123456789abcdef"

const badRequests = (context: { customer: TestCustomer; run: TestRun; gate: TestGate }): ReadonlyArray<BadRequest> => {
  const { customer, run, gate } = context
  const asCustomer = bearer(customer.token)
  const withKey = { ...asCustomer, "idempotency-key": "bad-input-key-1" }
  const registration = { phone: "13700000001", password: "long enough password", paymentPassword: "123456", residentId: "11010519491231002X" }
  const newRun = {
    trainCode: "K1", serviceDate: run.serviceDate, coaches: [{ coach: 1, seatClass: "second", seatCount: 2 }],
    stops: [{ station: "AAA", name: "A", departureMinuteOfDay: 60 }, { station: "BBB", name: "B", departureMinuteOfDay: 90 }],
    fareFenPerSegment: [100]
  }
  const admin = { "x-admin-key": "chunyun-admin" }
  return [
    // bodies that are not JSON, or not the right JSON
    { name: "truncated JSON", method: "POST", path: "/customers", body: '{"phone":"13700000001",', status: 400, tag: "HttpApiDecodeError" },
    { name: "not JSON at all", method: "POST", path: "/customers", body: "phone=13700000001", status: 400, tag: "HttpApiDecodeError" },
    { name: "empty body", method: "POST", path: "/sessions", body: "", status: 400, tag: "HttpApiDecodeError" },
    { name: "JSON array instead of an object", method: "POST", path: "/customers", body: "[]", status: 400, tag: "HttpApiDecodeError" },
    { name: "missing fields", method: "POST", path: "/customers", body: { phone: "13700000001" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "phone as a number", method: "POST", path: "/customers", body: { ...registration, phone: 13700000001 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "10-digit phone", method: "POST", path: "/customers", body: { ...registration, phone: "1370000000" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "5-digit payment password", method: "POST", path: "/customers", body: { ...registration, paymentPassword: "12345" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "short password", method: "POST", path: "/customers", body: { ...registration, password: "short" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "huge password", method: "POST", path: "/sessions", body: { phone: customer.phone, password: "x".repeat(hugeStringChars) }, status: 413, tag: "RequestTooLarge" },
    { name: "long password under the body limit", method: "POST", path: "/sessions", body: { phone: customer.phone, password: "x".repeat(longStringChars) }, status: 400, tag: "HttpApiDecodeError" },
    { name: "negative amountFen", method: "POST", path: "/wallet/top-ups", headers: withKey, body: { amountFen: -100 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "zero amountFen", method: "POST", path: "/wallet/top-ups", headers: withKey, body: { amountFen: 0 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "fractional amountFen", method: "POST", path: "/wallet/top-ups", headers: withKey, body: { amountFen: 1.5 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "amountFen as a string", method: "POST", path: "/wallet/top-ups", headers: withKey, body: { amountFen: "100" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "amountFen above the limit", method: "POST", path: "/wallet/top-ups", headers: withKey, body: { amountFen: 1e12 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "7-digit payment password", method: "POST", path: `/orders/${wellFormedMissingOrderId}/payment`, headers: withKey, body: { paymentPassword: "1234567" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "payment password as a number", method: "POST", path: `/orders/${wellFormedMissingOrderId}/payment`, headers: withKey, body: { paymentPassword: 123456 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "hold with a lowercase station", method: "POST", path: "/orders", headers: asCustomer, body: { runId: run.runId, fromStation: "bjp", toStation: "TJP" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "scan with an oversized QR", method: "POST", path: "/gates/scans", headers: { "x-device-key": gate.deviceKey }, body: { qr: "A".repeat(3000), presentedHolder: customer.phone }, status: 400, tag: "HttpApiDecodeError" },
    { name: "search without its parameters", method: "GET", path: "/runs?from=BJP", status: 400, tag: "HttpApiDecodeError" },
    { name: "search with a malformed date", method: "GET", path: "/runs?from=BJP&to=TJP&date=2025-13-01", status: 400, tag: "HttpApiDecodeError" },
    { name: "run on 30 February", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, trainCode: "K31", serviceDate: "2026-02-30" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "run in the year 0000", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, trainCode: "K32", serviceDate: "0000-01-01" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "run past the service years", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, trainCode: "K33", serviceDate: "2100-01-01" }, status: 400, tag: "HttpApiDecodeError" },
    { name: "search on 31 April", method: "GET", path: "/runs?from=BJP&to=TJP&date=2026-04-31", status: 400, tag: "HttpApiDecodeError" },
    { name: "run with zero seats per coach", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, coaches: [{ coach: 1, seatClass: "second", seatCount: 0 }] }, status: 400, tag: "HttpApiDecodeError" },

    // routes, methods and formats the contract does not have
    { name: "unknown route", method: "GET", path: "/no-such-thing", status: 404, tag: "UnknownRoute" },
    { name: "unknown route under a known prefix", method: "GET", path: "/orders/O0123456789abcdef/nothing", headers: asCustomer, status: 404, tag: "UnknownRoute" },
    // the router would read an empty segment as absent: PUT /admin/agents//x would create agent "x"
    { name: "an empty path segment", method: "PUT", path: "/admin/agents//agent-x", headers: admin, body: { password: "agent password" }, status: 404, tag: "UnknownRoute" },
    { name: "an empty path segment at the end", method: "GET", path: "/wallet//", headers: asCustomer, status: 404, tag: "UnknownRoute" },
    { name: "wrong method on a known path", method: "DELETE", path: "/customers", status: 405, tag: "MethodNotAllowed" },
    { name: "GET of a POST-only path", method: "GET", path: "/sessions", status: 405, tag: "MethodNotAllowed" },
    { name: "login as a form", method: "POST", path: "/sessions", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `phone=${customer.phone}&password=${customer.password}`, status: 415, tag: "UnsupportedMediaType" },
    { name: "registration as plain text", method: "POST", path: "/customers", headers: { "content-type": "text/plain" }, body: JSON.stringify(registration), status: 415, tag: "UnsupportedMediaType" },
    { name: "top-up as bytes", method: "POST", path: "/wallet/top-ups", headers: { ...withKey, "content-type": "application/octet-stream" }, body: '{"amountFen":100}', status: 415, tag: "UnsupportedMediaType" },
    { name: "path parameter that is not valid percent-encoding", method: "GET", path: "/orders/%ZZ", headers: asCustomer, status: 400, tag: "HttpApiDecodeError" },

    // headers and path parameters
    { name: "missing idempotency-key", method: "POST", path: "/wallet/top-ups", headers: asCustomer, body: { amountFen: 100 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "too short idempotency-key", method: "POST", path: "/wallet/top-ups", headers: { ...asCustomer, "idempotency-key": "abc" }, body: { amountFen: 100 }, status: 400, tag: "HttpApiDecodeError" },
    { name: "malformed orderId", method: "GET", path: "/orders/not-an-order", headers: asCustomer, status: 400, tag: "HttpApiDecodeError" },
    { name: "orderId with uppercase hex", method: "GET", path: "/orders/O0123456789ABCDEF", headers: asCustomer, status: 400, tag: "HttpApiDecodeError" },
    { name: "malformed orderId for a ticket", method: "GET", path: "/orders/123/ticket", headers: asCustomer, status: 400, tag: "HttpApiDecodeError" },

    // who is asking
    { name: "no bearer token", method: "GET", path: "/wallet", status: 401, tag: "Unauthorized" },
    { name: "unknown bearer token", method: "GET", path: "/wallet", headers: bearer("0".repeat(32)), status: 401, tag: "Unauthorized" },
    { name: "basic auth instead of a bearer token", method: "GET", path: "/wallet", headers: { authorization: "Basic dXNlcjpwYXNz" }, status: 401, tag: "Unauthorized" },
    { name: "hold without a session", method: "POST", path: "/orders", body: { runId: run.runId, fromStation: "BJP", toStation: "TJP" }, status: 401, tag: "Unauthorized" },
    { name: "wrong login password", method: "POST", path: "/sessions", body: { phone: customer.phone, password: "not the password" }, status: 401, tag: "InvalidCredentials" },
    { name: "login of an unknown phone", method: "POST", path: "/sessions", body: { phone: "13600000009", password: "whatever password" }, status: 401, tag: "InvalidCredentials" },
    { name: "admin endpoint without the key", method: "POST", path: "/admin/gates", body: { gateId: "g-1", station: "BJP" }, status: 403, tag: "Forbidden" },
    { name: "admin endpoint with a wrong key", method: "POST", path: "/admin/runs", headers: { "x-admin-key": "guess" }, body: newRun, status: 403, tag: "Forbidden" },
    { name: "scan without a device key", method: "POST", path: "/gates/scans", body: { qr: "CY1:AAAA", presentedHolder: customer.phone }, status: 401, tag: "Unauthorized" },
    { name: "scan with an unknown device key", method: "POST", path: "/gates/scans", headers: { "x-device-key": "f".repeat(32) }, body: { qr: "CY1:AAAA", presentedHolder: customer.phone }, status: 401, tag: "Unauthorized" },

    // well-formed, but naming nothing that exists or makes sense
    { name: "unknown order", method: "GET", path: `/orders/${wellFormedMissingOrderId}`, headers: asCustomer, status: 404, tag: "OrderNotFound" },
    { name: "paying an unknown order", method: "POST", path: `/orders/${wellFormedMissingOrderId}/payment`, headers: withKey, body: { paymentPassword: customer.paymentPassword }, status: 404, tag: "OrderNotFound" },
    { name: "ticket of an unknown order", method: "GET", path: `/orders/${wellFormedMissingOrderId}/ticket`, headers: asCustomer, status: 404, tag: "OrderNotFound" },
    { name: "hold on an unknown run", method: "POST", path: "/orders", headers: asCustomer, body: { runId: "Z9-20990101", fromStation: "BJP", toStation: "TJP" }, status: 404, tag: "TrainRunNotFound" },
    { name: "hold against the direction of travel", method: "POST", path: "/orders", headers: asCustomer, body: { runId: run.runId, fromStation: "TJP", toStation: "BJP" }, status: 422, tag: "InvalidSegment" },
    { name: "hold from a station the run skips", method: "POST", path: "/orders", headers: asCustomer, body: { runId: run.runId, fromStation: "XYZ", toStation: "TJP" }, status: 422, tag: "InvalidSegment" },
    { name: "run whose fares do not match its segments", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, fareFenPerSegment: [100, 200] }, status: 422, tag: "InvalidCatalog" },
    { name: "run whose stops go back in time", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, trainCode: "K2", stops: [newRun.stops[1], newRun.stops[0]] }, status: 422, tag: "InvalidCatalog" },
    { name: "a run that already exists", method: "POST", path: "/admin/runs", headers: admin, body: { ...newRun, trainCode: "G900", serviceDate: run.serviceDate }, status: 409, tag: "TrainRunExists" },
    { name: "scan of a QR that is no ticket", method: "POST", path: "/gates/scans", headers: { "x-device-key": gate.deviceKey }, body: { qr: "hello", presentedHolder: customer.phone }, status: 422, tag: "InvalidTicket" },
    { name: "a phone registered twice", method: "POST", path: "/customers", body: { ...registration, phone: customer.phone }, status: 409, tag: "PhoneAlreadyRegistered" }
  ]
}

describe("bad input", () => {
  let server: TestServer
  let context: { customer: TestCustomer; run: TestRun; gate: TestGate }
  before(async () => {
    server = await startTestServer()
    const customer = await server.run(newCustomer(server.baseUrl))
    const run = await server.run(createRun(server.baseUrl, { trainCode: "G900", stations: ["BJP", "TJP"], seatCount: 2 }))
    const gate = await server.run(newGate(server.baseUrl, "bad-input-gate", "BJP"))
    context = { customer, run, gate }
  })
  after(() => server.close())

  test("every bad request is a 4xx with a JSON body naming the problem", async () => {
    const cases = badRequests(context)
    assert.equal(new Set(cases.map((badRequest) => badRequest.name)).size, cases.length, "case names must be unique")
    for (const badRequest of cases) {
      const response = await rawRequest(server.baseUrl, badRequest.method, badRequest.path, {
        ...(badRequest.headers === undefined ? {} : { headers: badRequest.headers }),
        ...(badRequest.body === undefined ? {} : { body: badRequest.body })
      })
      const label = `${badRequest.name}: ${response.status} ${response.text.slice(0, 200)}`
      assert.ok(response.status >= 400 && response.status < 500, label)
      assert.equal(response.status, badRequest.status, label)
      assert.match(response.contentType ?? "", /^application\/json/, label)
      assert.equal((response.json as { _tag?: unknown } | undefined)?._tag, badRequest.tag, label)
    }
  })

  test("a decode error says which field is wrong", async () => {
    const response = await rawRequest(server.baseUrl, "POST", "/customers", {
      body: { phone: "1370000000", password: "long enough password", paymentPassword: "123456", residentId: "11010519491231002X" }
    })
    const body = response.json as { issues?: ReadonlyArray<{ path: ReadonlyArray<string> }> }
    assert.deepEqual(body.issues?.map((issue) => issue.path), [["phone"]])
  })

  test("a decode error reads as a user would write it: the field's path and what was expected, no schema text", async () => {
    const refusals: ReadonlyArray<{ path: string; headers?: Record<string, string>; body: object; message: string }> = [
      {
        path: "/customers", body: { phone: "1370000000", password: "long enough password", paymentPassword: "123456", residentId: "11010519491231002X" },
        message: "phone: expected 11 digits, starting 13 to 19"
      },
      // not even a string: the same words
      { path: "/sessions", body: { phone: 13700000000, password: "long enough password" }, message: "phone: expected 11 digits, starting 13 to 19" },
      { path: "/sessions", body: { password: "long enough password" }, message: "phone: is missing" },
      {
        path: "/wallet/top-ups", headers: { ...bearer(context.customer.token), "idempotency-key": "plain-words-top-up-1" }, body: { amountFen: -5 },
        message: `amountFen: expected a positive integer (fen), at most ${maxAmountFen}`
      },
      {
        path: "/wallet/top-ups", headers: { ...bearer(context.customer.token), "idempotency-key": "plain-words-top-up-2" }, body: { amountFen: 10.5 },
        message: `amountFen: expected a positive integer (fen), at most ${maxAmountFen}`
      },
      {
        path: "/orders", headers: bearer(context.customer.token), body: { runId: context.run.runId, fromStation: "bj", toStation: "TJP" },
        message: "fromStation: expected a station code: 3 capital letters (BJP)"
      }
    ]
    for (const refusal of refusals) {
      const response = await rawRequest(server.baseUrl, "POST", refusal.path, { body: refusal.body, ...(refusal.headers === undefined ? {} : { headers: refusal.headers }) })
      const label = `${refusal.path} ${JSON.stringify(refusal.body)}: ${response.status} ${response.text}`
      assert.equal(response.status, 400, label)
      assert.equal(tagOf(response.json), "HttpApiDecodeError", label)
      const body = response.json as { message?: string; issues?: ReadonlyArray<{ message: string }> }
      assert.equal(body.message, refusal.message, label)
      assert.equal(`${refusal.message.split(": ")[0]}: ${body.issues?.[0]?.message}`, refusal.message, label)
      assert.doesNotMatch(response.text, /Brand<|Expected|matching the pattern|└─/, label)
    }
  })

  test("Schema's own words, where a schema has none of its own, lose their brands and type expressions", () => {
    assert.equal(plainExpectation("Expected string"), "expected string")
    assert.equal(plainExpectation("Expected a string at most 64 character(s) long"), "expected a string at most 64 character(s) long")
    assert.equal(plainExpectation("Expected ReadonlyArray<a string matching the pattern ^1[3-9]\\d{9}$ & Brand<\"PhoneNumber\">>"), "expected a list")
    assert.equal(plainExpectation("Expected { readonly phone: string }"), "expected an object")
    assert.equal(plainExpectation("Expected \"business\" | \"first\" | \"second\""), "expected one of \"business\", \"first\", \"second\"")
    assert.equal(plainExpectation("Expected an integer & Brand<\"Seats\">"), "expected an integer")
    assert.equal(plainExpectation("is missing"), "is missing")
  })

  test("a decode error quotes a long input only in part", async () => {
    const response = await rawRequest(server.baseUrl, "POST", "/sessions", {
      body: { phone: context.customer.phone, password: "y".repeat(longStringChars) }
    })
    assert.equal(response.status, 400)
    const { maxErrorMessageChars } = server.settings
    // two clipped messages (the summary and the one issue) and the JSON around them
    assert.ok(response.text.length < 3 * maxErrorMessageChars, `the answer is ${response.text.length} characters long`)
    assert.match(response.text, /password: expected 8 to 64 characters/)
  })

  test("JSON nested deeper than maxJsonDepth is a tagged 400 on every endpoint that reads a body, before decoding", async () => {
    const depth = 4_000
    const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`
    const asCustomer = bearer(context.customer.token)
    const targets: ReadonlyArray<{ path: string; headers?: Record<string, string>; body: string }> = [
      { path: "/customers", body: `{"phone":${deep},"password":"long enough password","paymentPassword":"123456","residentId":"11010519491231002X"}` },
      { path: "/sessions", body: `{"phone":${deep},"password":"long enough password"}` },
      { path: "/devices", body: `{"machineNumber":${deep}}` },
      { path: "/gateway/callbacks", headers: { "x-gateway-signature": "0".repeat(64) }, body: `{"chargeId":${deep}}` },
      { path: "/orders", headers: asCustomer, body: `{"runId":${deep},"fromStation":"BJP","toStation":"TJP"}` },
      { path: "/wallet/top-ups", headers: { ...asCustomer, "idempotency-key": "deep-json-key-1" }, body: `{"amountFen":${deep}}` }
    ]
    for (const target of targets) {
      const response = await rawRequest(server.baseUrl, "POST", target.path, { body: target.body, ...(target.headers === undefined ? {} : { headers: target.headers }) })
      const label = `${target.path}: ${response.status} ${response.text.slice(0, 200)}`
      assert.equal(response.status, 400, label)
      assert.equal(tagOf(response.json), "JsonTooDeep", label)
      assert.equal((response.json as { maxDepth?: unknown }).maxDepth, server.settings.maxJsonDepth, label)
    }
    // nesting up to the limit is decoded as usual (here: refused by the schema, naming the field)
    const shallow = `${"[".repeat(server.settings.maxJsonDepth - 1)}${"]".repeat(server.settings.maxJsonDepth - 1)}`
    const within = await rawRequest(server.baseUrl, "POST", "/sessions", { body: `{"phone":${shallow},"password":"long enough password"}` })
    assert.equal(tagOf(within.json), "HttpApiDecodeError", within.text.slice(0, 200))
  })

  test("a defect is a tagged 500, and the server's log names the request's method, route and cause", async () => {
    // with no depth limit to speak of, a deeply nested field still makes schema decoding overflow the stack (Schema's
    // own message quotes the value it refused; a field whose schema words its refusal itself quotes nothing)
    const depth = 4_000
    const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`
    const logged: Array<string> = []
    const original = { log: console.log, error: console.error }
    await withTestServer({ maxJsonDepth: 10 * depth }, async (unguarded) => {
      console.log = (...parts: Array<unknown>) => { logged.push(parts.map(String).join(" ")) }
      console.error = console.log
      try {
        const response = await rawRequest(unguarded.baseUrl, "POST", "/customers", {
          body: `{"phone":"13700000000","password":"long enough password","paymentPassword":"123456","residentId":${deep}}`
        })
        assert.equal(response.status, 500, response.text.slice(0, 200))
        assert.equal(tagOf(response.json), "InternalServerError")
      } finally {
        console.log = original.log
        console.error = original.error
      }
    })
    assert.ok(logged.some((line) => line.includes("POST /customers failed") && /RangeError|stack/i.test(line)), `log: ${logged.join("\n").slice(0, 2_000)}`)
  })

  test("a body whose charset is not UTF-8 is refused: 415", async () => {
    for (const charset of ["utf-16", "UTF-16LE", "iso-8859-1"]) {
      const response = await rawRequest(server.baseUrl, "POST", "/sessions", {
        headers: { "content-type": `application/json; charset=${charset}` }, body: { phone: context.customer.phone, password: context.customer.password }
      })
      assert.equal(response.status, 415, `${charset}: ${response.status} ${response.text}`)
      assert.equal(tagOf(response.json), "UnsupportedCharset", charset)
    }
    for (const charset of ["utf-8", "UTF-8", "\"utf-8\""]) {
      const response = await rawRequest(server.baseUrl, "POST", "/sessions", {
        headers: { "content-type": `application/json; charset=${charset}` }, body: { phone: context.customer.phone, password: context.customer.password }
      })
      assert.equal(tagOf(response.json), undefined, `${charset}: ${response.status} ${response.text}`)
      assert.equal(response.status, 201, `${charset}: ${response.status} ${response.text}`)
    }
  })

  test("a decode error names the field and the type, never the value sent", async () => {
    const cardNumber = "6222021234567890128"
    const response = await rawRequest(server.baseUrl, "POST", "/sessions", { body: { phone: cardNumber, password: "long enough password" } })
    assert.equal(response.status, 400)
    assert.equal(tagOf(response.json), "HttpApiDecodeError")
    assert.ok(!response.text.includes(cardNumber) && !response.text.includes(cardNumber.slice(-8)), `the answer quotes the input: ${response.text}`)
    const body = response.json as { issues?: ReadonlyArray<{ path: ReadonlyArray<string>; message: string }> }
    assert.deepEqual(body.issues?.map((issue) => issue.path), [["phone"]])
    assert.equal(body.issues?.[0]?.message, "expected 11 digits, starting 13 to 19")
    const nested = await rawRequest(server.baseUrl, "POST", "/sessions", { body: { phone: { number: cardNumber }, password: "long enough password" } })
    assert.equal(nested.status, 400)
    assert.ok(!nested.text.includes(cardNumber), `the answer quotes the input: ${nested.text}`)
  })

  test("a streamed body with no content-length is refused unread: 411", async () => {
    const chunk = new TextEncoder().encode(`{"phone":"${context.customer.phone}","password":"${"z".repeat(8_000)}`)
    const chunkCount = Math.ceil((2 * server.settings.maxRequestBodyBytes) / chunk.length)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < chunkCount) controller.enqueue(chunk)
        else controller.close()
      }
    })
    const response = await fetch(`${server.baseUrl}/sessions`, {
      method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half"
    } as RequestInit)
    assert.equal(response.status, 411)
    assert.equal(tagOf(await response.json()), "LengthRequired")
  })

  test("the body limit is the maxRequestBodyBytes setting", async () => {
    await withTestServer({ maxRequestBodyBytes: 512 }, async (small) => {
      const underLimit = await rawRequest(small.baseUrl, "POST", "/sessions", { body: { phone: "13600000009", password: "p".repeat(64) } })
      assert.equal(tagOf(underLimit.json), "InvalidCredentials")
      const overLimit = await rawRequest(small.baseUrl, "POST", "/sessions", { body: { phone: "13600000009", password: "p".repeat(600) } })
      assert.equal(overLimit.status, 413)
      assert.deepEqual(overLimit.json, { _tag: "RequestTooLarge", maxBytes: 512, message: "the request body is longer than 512 bytes" })
    })
  })

  test("a URL longer than the HTTP parser reads is a tagged 431", async () => {
    const response = await rawRequest(server.baseUrl, "GET", `/runs?from=${"A".repeat(urlLongerThanParserChars)}&to=TJP&date=2025-01-01`)
    assert.equal(response.status, 431)
    assert.deepEqual(tagOf(response.json), "HeadersTooLarge")
  })

  test("bytes that are not HTTP at all get a tagged 400, not a bare status line", async () => {
    const { hostname, port } = new URL(server.baseUrl)
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => socket.write("HELLO THERE\r\n\r\n"))
      let received = ""
      socket.setEncoding("utf8")
      socket.on("data", (chunk: string) => { received += chunk })
      socket.on("end", () => resolve(received))
      socket.on("error", reject)
    })
    const [head, body] = answer.split("\r\n\r\n")
    assert.match(head ?? "", /^HTTP\/1\.1 400 /)
    assert.match(head ?? "", /content-type: application\/json/i)
    assert.equal(tagOf(JSON.parse(body ?? "")), "MalformedRequest")
  })

  test("bad input changed nothing: the wallet is empty and no seat was taken", async () => {
    const wallet = await server.run(context.customer.client.accounts.getWallet())
    assert.equal(wallet.balanceFen, 0)
    const offers = await server.run(context.customer.client.catalog.search({
      urlParams: { from: context.run.stations[0]!, to: context.run.stations[1]!, date: context.run.serviceDate }
    }))
    assert.equal(offers.find((offer) => offer.runId === context.run.runId)?.availableSeats, 2)
  })

  test("GET /openapi.json describes every endpoint of the contract", async () => {
    const response = await rawRequest(server.baseUrl, "GET", "/openapi.json")
    assert.equal(response.status, 200)
    const document = response.json as { openapi: string; paths: Record<string, Record<string, unknown>> }
    assert.match(document.openapi, /^3\./)
    const expected = Object.values(ChunyunApi.groups).flatMap((group) =>
      Object.values(group.endpoints).map((endpoint) => `${endpoint.method} ${endpoint.path.replace(/:(\w+)/g, "{$1}")}`))
    assert.ok(expected.length >= 13, `the contract lists only ${expected.length} endpoints`)
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    assert.deepEqual([...documented].sort(), [...expected].sort())
  })
})
