// A V8 heap snapshot (.heapsnapshot) summarised: self size and count of its nodes by type and constructor, largest first.
// Usage: node --max-old-space-size=4000 bench/heapSummary.mjs <file> [rows]
import { readFileSync } from "node:fs"

const [file, rowsText] = process.argv.slice(2)
const snapshot = JSON.parse(readFileSync(file, "utf8"))
const fields = snapshot.snapshot.meta.node_fields
const types = snapshot.snapshot.meta.node_types[0]
const typeField = fields.indexOf("type"), nameField = fields.indexOf("name"), sizeField = fields.indexOf("self_size")
const named = new Set(["object", "closure", "native"])
const byKey = new Map()
let totalBytes = 0
for (let offset = 0; offset < snapshot.nodes.length; offset += fields.length) {
  const type = types[snapshot.nodes[offset + typeField]]
  const key = named.has(type) ? `${type} ${snapshot.strings[snapshot.nodes[offset + nameField]].slice(0, 60)}` : `(${type})`
  const sizeBytes = snapshot.nodes[offset + sizeField]
  const entry = byKey.get(key) ?? { bytes: 0, count: 0 }
  entry.bytes += sizeBytes
  entry.count++
  byKey.set(key, entry)
  totalBytes += sizeBytes
}
console.log(`total ${(totalBytes / 1_048_576).toFixed(1)} MB`)
for (const [key, { bytes, count }] of [...byKey].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, Number(rowsText ?? 40))) {
  console.log(`${(bytes / 1_048_576).toFixed(2).padStart(8)} MB ${String(count).padStart(8)} ${key}`)
}
