/**
 * The trivial endpoint of the driver benchmark: node:http answering every request with 2 bytes, in its
 * own process. What it measures is the client: the driver and autocannon against the same server.
 */
import { createServer } from "node:http"

const body = Buffer.from("ok")
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "text/plain", "content-length": body.length })
  response.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", 4096, () => {
  const address = server.address()
  if (address && typeof address === "object") console.log(`listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
