/**
 * One layer of the HTTP stack the server is built on, answering one GET with the same small JSON body
 * in its own process (bench/floor.ts): `node` (node:http alone), `router` (@effect/platform's HttpServer and
 * HttpRouter on node:http), `api` (an HttpApi contract of one endpoint with a success schema, served by
 * HttpApiBuilder as the server's contract is). Arguments: the kind and the path to answer on. Prints its address
 * when it listens.
 */
import { createServer } from "node:http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Schema } from "effect"

const answer = { keys: [{ keyId: "k1", publicKeyHex: "00".repeat(32) }] }
const answerText = JSON.stringify(answer)

const kind = process.argv[2]
const floorPath = (process.argv[3] ?? "/") as `/${string}`
const listening = (port: number) => console.log(`listening on http://127.0.0.1:${port}`)

if (kind === "node") {
  const body = Buffer.from(answerText)
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json", "content-length": body.length })
    response.end(body)
  })
  server.listen(0, "127.0.0.1", 4096, () => {
    const address = server.address()
    if (address !== null && typeof address === "object") listening(address.port)
  })
} else {
  const Keys = Schema.Struct({ keys: Schema.Array(Schema.Struct({ keyId: Schema.String, publicKeyHex: Schema.String })) })
  const FloorApi = HttpApi.make("floor").add(HttpApiGroup.make("keys").add(HttpApiEndpoint.get("list", floorPath).addSuccess(Keys)))
  const app = kind === "router"
    ? HttpServer.serve(HttpRouter.empty.pipe(HttpRouter.get(floorPath, HttpServerResponse.text(answerText, { contentType: "application/json" }))))
    : kind === "api"
      ? HttpApiBuilder.serve().pipe(Layer.provide(HttpApiBuilder.api(FloorApi).pipe(
        Layer.provide(HttpApiBuilder.group(FloorApi, "keys", (handlers) => handlers.handle("list", () => Effect.succeed(answer)))))))
      : undefined
  if (app === undefined) {
    console.error(`floorServer: unknown kind ${kind} (node, router or api)`)
    process.exit(2)
  }
  Layer.effectDiscard(Effect.flatMap(HttpServer.HttpServer, (server) =>
    Effect.sync(() => listening(server.address._tag === "TcpAddress" ? server.address.port : 0)))).pipe(
    Layer.provideMerge(app),
    Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1", backlog: 4096 })),
    Layer.launch,
    NodeRuntime.runMain
  )
}
