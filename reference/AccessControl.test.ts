/**
 * Who may do what. A customer reads and changes only their own orders, tickets, wallet and payments
 * (another's answers 404, as if it did not exist, and changes nothing); an expired session is refused;
 * gates authenticate as devices and reach only device endpoints; operator endpoints need the admin key.
 * The credential matrix runs over every operation of `GET /openapi.json`, so new endpoints are covered.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Effect } from "effect"
import fc from "fast-check"
import { buildWorld, changedTables, storeDigest } from "./testing/BadInput.js"
import type { World } from "./testing/BadInput.js"
import { describeDraft, operationsOf, send, wellFormedRequests } from "./testing/OpenApiFuzz.js"
import type { FuzzContext, OpenApiDocument } from "./testing/OpenApiFuzz.js"
import { bearer, rawRequest, startTestServer, tagOf } from "./testing/TestServer.js"
import type { TestServer } from "./testing/TestServer.js"

const requestsPerPairing = 2
const matrixSeed = 4

describe("access control", () => {
  let server: TestServer
  let world: World
  let document: OpenApiDocument
  before(async () => {
    server = await startTestServer()
    world = await buildWorld(server)
    document = (await rawRequest(server.baseUrl, "GET", "/openapi.json")).json as OpenApiDocument
  })
  after(() => server.close())

  /** Runs the requests, then asserts the store is as it was before them. */
  const changesNothing = async (requests: () => Promise<void>) => {
    const before = await storeDigest(server)
    await requests()
    assert.deepEqual(changedTables(before, await storeDigest(server)), [])
  }

  test("another customer's order and ticket read as not found", async () => {
    const asStranger = bearer(world.stranger.token)
    await changesNothing(async () => {
      for (const path of [`/orders/${world.heldOrderId}`, `/orders/${world.issuedOrderId}`, `/orders/${world.issuedOrderId}/ticket`]) {
        const response = await rawRequest(server.baseUrl, "GET", path, { headers: asStranger })
        assert.equal(response.status, 404, `${path}: ${response.text}`)
        assert.equal(tagOf(response.json), "OrderNotFound", path)
        // nothing of the order leaks into the refusal
        assert.doesNotMatch(response.text, new RegExp(`${world.run.runId}|${world.ticketId}|${world.owner.phone}`), path)
      }
    })
    // the owner still reads both
    const order = await server.run(world.owner.client.orders.getOrder({ path: { orderId: world.heldOrderId } }))
    assert.equal(order.state, "held")
    const ticket = await server.run(world.owner.client.issuance.getTicket({ path: { orderId: world.issuedOrderId } }))
    assert.equal(ticket.ticketId, world.ticketId)
  })

  test("paying another customer's order, even with one's own right payment password, is refused and moves no money", async () => {
    await changesNothing(async () => {
      const response = await rawRequest(server.baseUrl, "POST", `/orders/${world.heldOrderId}/payment`, {
        headers: { ...bearer(world.stranger.token), "idempotency-key": "stranger-pays-owner-1" },
        body: { paymentPassword: world.stranger.paymentPassword }
      })
      assert.equal(response.status, 404, response.text)
      assert.equal(tagOf(response.json), "OrderNotFound")
    })
    const order = await server.run(world.owner.client.orders.getOrder({ path: { orderId: world.heldOrderId } }))
    assert.equal(order.state, "held")
  })

  test("an idempotency key is the customer's own: another's key replays nothing of theirs", async () => {
    // the owner paid the issued order under this key; the same key from the stranger is a new request of the stranger's
    await changesNothing(async () => {
      const response = await rawRequest(server.baseUrl, "POST", `/orders/${world.issuedOrderId}/payment`, {
        headers: { ...bearer(world.stranger.token), "idempotency-key": "world-payment-1" },
        body: { paymentPassword: world.stranger.paymentPassword }
      })
      assert.equal(response.status, 404, response.text)
      assert.equal(tagOf(response.json), "OrderNotFound")
    })
  })

  test("a wallet is the session's: each customer sees only their own balance", async () => {
    const [strangerWallet, ownerWallet] = await server.run(Effect.all([
      world.stranger.client.accounts.getWallet(), world.owner.client.accounts.getWallet()
    ]))
    assert.equal(strangerWallet.balanceFen, 0)
    assert.equal(ownerWallet.balanceFen, world.walletFen)
    assert.ok(world.walletFen > 0)
  })

  test("no customer endpoint lets the caller name a customer: the customer is the session's", () => {
    const bearerSchemes = Object.entries(document.components?.securitySchemes ?? {})
      .filter(([, scheme]) => scheme.type === "http" && scheme.scheme === "bearer").map(([name]) => name)
    const customerOperations = operationsOf(document).filter((operation) => operation.schemes.some((scheme) => bearerSchemes.includes(scheme)))
    assert.ok(customerOperations.length > 0)
    for (const operation of customerOperations) {
      const named = operation.parameters.filter((parameter) => /^customer_?id$/i.test(parameter.name))
      assert.deepEqual(named.map((parameter) => parameter.name), [], `${operation.method} ${operation.path}`)
    }
  })

  test("an expired session is refused, while the same customer's live one works (the matrix below tries it everywhere)", async () => {
    const response = await rawRequest(server.baseUrl, "GET", "/wallet", { headers: bearer(world.expiredToken) })
    assert.equal(response.status, 401)
    assert.equal(tagOf(response.json), "Unauthorized")
    // the same customer's live session still works: it is the token that expired, not the customer
    const live = await rawRequest(server.baseUrl, "GET", "/wallet", { headers: bearer(world.stranger.token) })
    assert.equal(live.status, 200)
  })

  test("every operation refuses the credentials of every other kind, and no credentials at all", async () => {
    const schemes = document.components?.securitySchemes ?? {}
    // one valid caller per kind the world has: a customer, a gate (device key), an operator (admin key)
    const callers: Record<string, Record<string, string>> = {
      customer: bearer(world.stranger.token),
      gate: { "x-device-key": world.gate.deviceKey },
      operator: { "x-admin-key": world.adminKey },
      "expired session": bearer(world.expiredToken),
      nobody: {}
    }
    const admits = (schemeNames: ReadonlyArray<string>, headers: Record<string, string>) => schemeNames.some((name) => {
      const scheme = schemes[name]
      if (scheme?.type === "http") return headers["authorization"] === bearer(world.stranger.token).authorization
      return scheme?.name !== undefined && headers[scheme.name] !== undefined
    })
    const context: FuzzContext = { document, credentials: {}, wrongCredentials: [], known: [], maxRequestBodyBytes: server.settings.maxRequestBodyBytes }
    let pairings = 0
    await changesNothing(async () => {
      for (const operation of operationsOf(document).filter((candidate) => candidate.schemes.length > 0)) {
        for (const [caller, headers] of Object.entries(callers)) {
          if (admits(operation.schemes, headers)) continue
          pairings++
          for (const draft of fc.sample(wellFormedRequests(operation, context), { seed: matrixSeed, numRuns: requestsPerPairing })) {
            const answer = await send(server.baseUrl, { ...draft, headers: { ...draft.headers, ...headers } })
            const label = `${caller} → ${describeDraft(draft)}: ${answer.status} ${answer.text.slice(0, 200)}`
            assert.ok(answer.status === 401 || answer.status === 403, label)
            assert.match(String(tagOf(JSON.parse(answer.text))), /^(Unauthorized|Forbidden)$/, label)
          }
        }
      }
    })
    // customers, gates and operators each have endpoints the other two may not call
    assert.ok(pairings >= 3 * 2, `only ${pairings} refused pairings`)
  })
})
