/**
 * What a person exploring `chunyun serve` finds, on the served layer itself (in process, loopback): a log line
 * per request when asked for one, the interactive API page at /docs, offline, over the contract's document.
 */
import assert from "node:assert/strict"
import { after, before, describe, test } from "node:test"
import { Deferred, Effect, Fiber, Layer } from "effect"
import type { HttpServer } from "@effect/platform"
import { apiDocsPath, serveLayer } from "./Server.js"
import { generateServeSecrets } from "./ServeSecrets.js"
import { openTestStore, testStoreKind } from "./testing/TestStore.js"
import type { TestStore } from "./testing/TestStore.js"
import { rawRequest, testPasswordHashCostN } from "./testing/TestServer.js"

interface Served {
  readonly baseUrl: string
  readonly logged: Array<string>
  readonly stop: () => Promise<void>
}

/** `serveLayer` on an ephemeral port of 127.0.0.1, its request log kept in memory. */
const serve = async (store: TestStore): Promise<Served> => {
  const logged: Array<string> = []
  const address = Effect.runSync(Deferred.make<HttpServer.Address>())
  const fiber = Effect.runFork(Layer.launch(serveLayer({
    port: 0, host: "127.0.0.1", store: store.layer, settings: { passwordHashCostN: testPasswordHashCostN }, secrets: generateServeSecrets(),
    onServing: (served) => Effect.runSync(Deferred.succeed(address, served)),
    requestLog: (line) => { logged.push(line) }
  })))
  const served = await Effect.runPromise(Deferred.await(address))
  if (served._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return { baseUrl: `http://127.0.0.1:${served.port}`, logged, stop: () => Effect.runPromise(Fiber.interrupt(fiber)).then(() => undefined) }
}

let store: TestStore
let server: Served
before(async () => {
  store = await openTestStore(testStoreKind())
  server = await serve(store)
})
after(async () => {
  await server.stop()
  await store.release()
})

/** the log lines written since `from` */
const linesSince = (from: number) => server.logged.slice(from)

describe("the request log", () => {
  test("one line per request: method, the contract's route (no IDs, no query), status, duration in ms", async () => {
    const from = server.logged.length
    await rawRequest(server.baseUrl, "GET", "/health")
    await rawRequest(server.baseUrl, "GET", "/orders/O0123456789abcdef?verbose=1")
    await rawRequest(server.baseUrl, "POST", "/customers", { body: { phone: "123" } })
    await rawRequest(server.baseUrl, "GET", "/no/such/route?token=secret")
    const lines = linesSince(from)
    assert.equal(lines.length, 4, lines.join(""))
    assert.ok(lines.every((line) => /^[A-Z]+ \S+ \d{3} \d+\.\d ms\n$/.test(line)), lines.join(""))
    assert.deepEqual(lines.map((line) => line.split(" ").slice(0, 3).join(" ")), [
      "GET /health 200",
      "GET /orders/:orderId 401",
      "POST /customers 400",
      "GET /no/such/route 404"
    ])
    assert.ok(!lines.join("").includes("O0123456789abcdef") && !lines.join("").includes("secret"), lines.join(""))
  })
})

describe("the API page", () => {
  test(`GET ${apiDocsPath} is one HTML page that loads nothing from elsewhere`, async () => {
    const response = await rawRequest(server.baseUrl, "GET", apiDocsPath)
    assert.equal(response.status, 200)
    assert.match(response.contentType ?? "", /^text\/html/)
    assert.match(response.text, /<script id="api-reference" type="application\/json">/)
    // the page's own markup, the inline script's text left out: it names no script, style or font to fetch
    const markup = response.text.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, "$1</script>")
    assert.ok(!/<script[^>]+src=|<link[^>]+href=|cdn\.jsdelivr\.net/i.test(markup), `the page fetches something: ${markup.slice(0, 2_000)}`)
    // Scalar's default fonts come from its CDN: they are off
    assert.ok(/"withDefaultFonts":\s*false/.test(response.text), "Scalar's default fonts are on")
  })

  test("the document the page shows is the one served at /openapi.json", async () => {
    const page = await rawRequest(server.baseUrl, "GET", apiDocsPath)
    const embedded = /<script id="api-reference" type="application\/json">([\s\S]*?)<\/script>/.exec(page.text)?.[1]
    assert.ok(embedded, "no embedded OpenAPI document")
    const shown = JSON.parse(embedded) as { info: unknown; paths: Record<string, Record<string, { operationId?: string }>> }
    const served = await rawRequest(server.baseUrl, "GET", "/openapi.json")
    assert.equal(served.status, 200)
    const document = served.json as typeof shown
    const operations = (spec: typeof shown) =>
      Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => `${method} ${path} ${operation.operationId}`)).sort()
    assert.deepEqual(operations(shown), operations(document))
    assert.deepEqual(shown.info, document.info)
    assert.ok(operations(document).some((operation) => operation.startsWith("get /health ")))
  })
})
