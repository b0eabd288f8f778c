/** One driver process of `runChildDrivers`: runs, sends its rate and histograms to the parent, exits. */
import { trivialDriver } from "./trivial.js"

const [baseUrl, connections, durationMs] = process.argv.slice(2)
const result = await trivialDriver(baseUrl!, Number(connections), Number(durationMs))
process.send?.({ perSecond: result.perSecond, encoded: result.encoded }, () => process.exit(0))
