/**
 * fast-check arbitraries derived from the JSON Schemas of an OpenAPI document: values a schema accepts,
 * and values it surely refuses (one constraint broken). "Surely" matters: the property test that uses
 * them expects a refusal, so a generator that is unsure (a schema with no constraint to break) gives
 * nothing rather than a guess.
 */
import fc from "fast-check"

export interface JsonSchema {
  readonly $ref?: string
  readonly type?: string | ReadonlyArray<string>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
  readonly additionalProperties?: boolean | JsonSchema
  readonly items?: JsonSchema
  readonly anyOf?: ReadonlyArray<JsonSchema>
  readonly oneOf?: ReadonlyArray<JsonSchema>
  readonly allOf?: ReadonlyArray<JsonSchema>
  readonly enum?: ReadonlyArray<unknown>
  readonly const?: unknown
  readonly pattern?: string
  readonly minLength?: number
  readonly maxLength?: number
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly minItems?: number
  readonly maxItems?: number
}

/** `$ref`s into `#/components/schemas`, with the keywords written beside a `$ref` laid over its target. */
export const resolver = (components: Readonly<Record<string, JsonSchema>>) => {
  const resolve = (schema: JsonSchema): JsonSchema => {
    let resolved = schema
    for (let hops = 0; resolved.$ref !== undefined && hops < 32; hops++) {
      const { $ref, ...beside } = resolved
      const target = components[$ref.replace("#/components/schemas/", "")]
      if (target === undefined) throw new Error(`unresolved $ref ${$ref}`)
      resolved = { ...target, ...beside }
    }
    if (resolved.allOf !== undefined) {
      const { allOf, ...rest } = resolved
      return allOf.map(resolve).reduce<JsonSchema>((merged, part) => ({ ...merged, ...part }), rest)
    }
    return resolved
  }
  return resolve
}
export type Resolve = ReturnType<typeof resolver>

type JsonType = "string" | "number" | "integer" | "boolean" | "null" | "array" | "object"
const jsonTypeOf = (value: unknown): JsonType =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number")
    : (typeof value as JsonType)

/** The JSON types a schema can accept, or "any" when it does not say. */
export const typesOf = (schema: JsonSchema, resolve: Resolve): ReadonlySet<JsonType> | "any" => {
  const resolved = resolve(schema)
  const branches = resolved.anyOf ?? resolved.oneOf
  if (branches !== undefined) {
    const types = new Set<JsonType>()
    for (const branch of branches) {
      const branchTypes = typesOf(branch, resolve)
      if (branchTypes === "any") return "any"
      branchTypes.forEach((type) => types.add(type))
    }
    return types
  }
  if (resolved.const !== undefined) return new Set([jsonTypeOf(resolved.const)])
  if (resolved.enum !== undefined) return new Set(resolved.enum.map(jsonTypeOf))
  if (resolved.type === undefined) return "any"
  return new Set((typeof resolved.type === "string" ? [resolved.type] : resolved.type) as ReadonlyArray<JsonType>)
}

const accepts = (types: ReadonlySet<JsonType>, value: unknown) => {
  const type = jsonTypeOf(value)
  return types.has(type) || (type === "integer" && types.has("number"))
}

/** One value of every JSON type: the ones a schema's types exclude are surely refused. */
const valueOfEachType: ReadonlyArray<unknown> = ["fuzz", 0.5, 7, true, null, [], {}, [1, "two"], { fuzz: 1 }]

const wrongTypeArbitrary = (schema: JsonSchema, resolve: Resolve) => {
  const types = typesOf(schema, resolve)
  if (types === "any") return undefined
  const wrong = valueOfEachType.filter((value) => !accepts(types, value))
  return wrong.length > 0 ? fc.constantFrom(...wrong) : undefined
}

// no flags: Effect checks `pattern` with a plain `new RegExp(source)`
const patternOf = (schema: JsonSchema) => (schema.pattern === undefined ? undefined : new RegExp(schema.pattern))

/** Strings that break patterns written by people: empty, blanks, injections, other scripts, control bytes. */
const awkwardStrings = [
  "", " ", "0", "-1", "null", "undefined", "NaN", "' OR 1=1 --", "\"; DROP TABLE orders; --", "../../etc/passwd",
  "%00", "\u0000", "\uFFFF", "\uD800", "春运", "😀", "<script>", "${7*7}", "a".repeat(300), "\n", "0x1F", "1e400"
]

const stringArbitrary = (schema: JsonSchema, known: ReadonlyArray<string>): fc.Arbitrary<string> => {
  const minLength = schema.minLength ?? 0
  const maxLength = schema.maxLength ?? Number.MAX_SAFE_INTEGER
  const lengthFits = (text: string) => text.length >= minLength && text.length <= maxLength
  const pattern = patternOf(schema)
  if (pattern === undefined) return fc.string({ minLength, maxLength: Math.min(maxLength, minLength + 24) })
  const matching = fc.stringMatching(pattern).filter(lengthFits)
  const knownMatching = known.filter((text) => pattern.test(text) && lengthFits(text))
  return knownMatching.length > 0 ? fc.oneof(matching, fc.constantFrom(...knownMatching)) : matching
}

const integerBounds = (schema: JsonSchema) => ({
  min: Math.ceil(schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : schema.minimum ?? -1_000_000),
  max: Math.floor(schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : schema.maximum ?? 1_000_000)
})

/**
 * Values the schema accepts. `known` are strings the caller knows name real things (IDs made in the test's
 * setup); a patterned string is sometimes one of them, so a request reaches a real row.
 */
export const validArbitrary = (schema: JsonSchema, resolve: Resolve, known: ReadonlyArray<string> = []): fc.Arbitrary<unknown> => {
  const resolved = resolve(schema)
  const branches = resolved.anyOf ?? resolved.oneOf
  if (branches !== undefined) return fc.oneof(...branches.map((branch) => validArbitrary(branch, resolve, known)))
  if (resolved.const !== undefined) return fc.constant(resolved.const)
  if (resolved.enum !== undefined) return fc.constantFrom(...resolved.enum)
  const type = typeof resolved.type === "string" ? resolved.type : resolved.type?.[0]
  switch (type) {
    case "string": return stringArbitrary(resolved, known)
    case "integer": return fc.integer(integerBounds(resolved))
    case "number": return fc.double({
      min: resolved.minimum ?? -1e9, max: resolved.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true
    }).filter((value) => (resolved.exclusiveMinimum === undefined || value > resolved.exclusiveMinimum) &&
      (resolved.exclusiveMaximum === undefined || value < resolved.exclusiveMaximum))
    case "boolean": return fc.boolean()
    case "null": return fc.constant(null)
    case "array": {
      const minLength = resolved.minItems ?? 0
      const maxLength = Math.min(resolved.maxItems ?? minLength + 3, minLength + 3)
      return fc.array(resolved.items === undefined ? fc.jsonValue({ maxDepth: 1 }) : validArbitrary(resolved.items, resolve, known), { minLength, maxLength })
    }
    case "object": {
      const properties = resolved.properties ?? {}
      const model = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, validArbitrary(property, resolve, known)]))
      return fc.record(model, { requiredKeys: (resolved.required ?? []).filter((key) => key in properties) })
    }
    default: return fc.jsonValue({ maxDepth: 2 })
  }
}

export const stringViolations = (schema: JsonSchema): ReadonlyArray<fc.Arbitrary<unknown>> => {
  const violations: Array<fc.Arbitrary<unknown>> = []
  if (schema.enum !== undefined) {
    const allowed = new Set(schema.enum)
    violations.push(fc.oneof(fc.string(), fc.constantFrom(...awkwardStrings)).filter((text) => !allowed.has(text)))
  }
  if (schema.maxLength !== undefined) {
    const tooLong = schema.maxLength + 1
    violations.push(fc.string({ minLength: tooLong, maxLength: tooLong + 64 }).filter((text) => text.length >= tooLong))
    violations.push(fc.constant("x".repeat(tooLong + 10_000)))
  }
  if (schema.minLength !== undefined && schema.minLength > 0) {
    violations.push(fc.string({ maxLength: schema.minLength - 1 }).filter((text) => text.length < schema.minLength!))
  }
  const pattern = patternOf(schema)
  if (pattern !== undefined) {
    violations.push(fc.oneof(
      fc.constantFrom(...awkwardStrings),
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.stringMatching(pattern).map((text) => ` ${text}`),
      fc.stringMatching(pattern).map((text) => `${text}\n`),
      fc.stringMatching(pattern).map((text) => text.toLowerCase() === text ? text.toUpperCase() : text.toLowerCase())
    ).filter((text) => !pattern.test(text)))
  }
  return violations
}

const numberViolations = (schema: JsonSchema, integer: boolean): ReadonlyArray<fc.Arbitrary<unknown>> => {
  const violations: Array<fc.Arbitrary<unknown>> = []
  const lowest = schema.exclusiveMinimum ?? (schema.minimum === undefined ? undefined : schema.minimum - (integer ? 1 : 1e-6))
  const highest = schema.exclusiveMaximum ?? (schema.maximum === undefined ? undefined : schema.maximum + (integer ? 1 : 1e-6))
  if (lowest !== undefined) {
    violations.push(fc.constantFrom(lowest, lowest - 1, -1, -1e300, Number.MIN_SAFE_INTEGER - 2).filter((value) => value <= lowest))
    if (lowest > -2_000_000_000) violations.push(fc.integer({ min: -2_000_000_000, max: Math.floor(lowest) }))
  }
  if (highest !== undefined) {
    violations.push(fc.constantFrom(highest, highest + 1, 1e300, Number.MAX_SAFE_INTEGER + 2, 2 ** 63).filter((value) => value >= highest))
    violations.push(fc.integer({ min: Math.ceil(highest), max: Math.max(Math.ceil(highest), 2_000_000_000) }))
  }
  if (integer) violations.push(fc.constantFrom(0.5, 1.000001, -2.5, 1e-7, 123456.789))
  return violations
}

/** Values the schema surely refuses, or undefined when no constraint can be broken for sure. */
export const invalidArbitrary = (schema: JsonSchema, resolve: Resolve, known: ReadonlyArray<string> = []): fc.Arbitrary<unknown> | undefined => {
  const resolved = resolve(schema)
  const violations: Array<fc.Arbitrary<unknown>> = []
  const wrongType = wrongTypeArbitrary(resolved, resolve)
  if (wrongType !== undefined) violations.push(wrongType)
  const isUnion = resolved.anyOf !== undefined || resolved.oneOf !== undefined
  const type = typeof resolved.type === "string" ? resolved.type : undefined
  if (!isUnion && type === "string") violations.push(...stringViolations(resolved))
  if (!isUnion && (type === "integer" || type === "number")) violations.push(...numberViolations(resolved, type === "integer"))
  if (!isUnion && type === "array") violations.push(...arrayViolations(resolved, resolve, known))
  if (!isUnion && type === "object") violations.push(...objectViolations(resolved, resolve, known))
  return violations.length > 0 ? fc.oneof(...violations) : undefined
}

const arrayViolations = (schema: JsonSchema, resolve: Resolve, known: ReadonlyArray<string>): ReadonlyArray<fc.Arbitrary<unknown>> => {
  const violations: Array<fc.Arbitrary<unknown>> = []
  const item = schema.items === undefined ? fc.jsonValue({ maxDepth: 1 }) : validArbitrary(schema.items, resolve, known)
  const maxItemsToBreak = 200
  if (schema.maxItems !== undefined && schema.maxItems < maxItemsToBreak) {
    violations.push(fc.array(item, { minLength: schema.maxItems + 1, maxLength: schema.maxItems + 3 }))
  }
  if (schema.minItems !== undefined && schema.minItems > 0) violations.push(fc.array(item, { maxLength: schema.minItems - 1 }))
  const badItem = schema.items === undefined ? undefined : invalidArbitrary(schema.items, resolve, known)
  if (badItem !== undefined) {
    const maxLength = Math.max(0, Math.min((schema.maxItems ?? 3) - 1, 3))
    violations.push(fc.tuple(fc.array(item, { maxLength }), badItem, fc.nat()).map(([items, bad, at]) => {
      const copy: Array<unknown> = [...items]
      copy.splice(at % (copy.length + 1), 0, bad)
      return copy
    }))
  }
  return violations
}

const objectViolations = (schema: JsonSchema, resolve: Resolve, known: ReadonlyArray<string>): ReadonlyArray<fc.Arbitrary<unknown>> => {
  const violations: Array<fc.Arbitrary<unknown>> = []
  const valid = validArbitrary(schema, resolve, known) as fc.Arbitrary<Record<string, unknown>>
  const required = (schema.required ?? []).filter((key) => schema.properties?.[key] !== undefined)
  if (required.length > 0) {
    violations.push(fc.tuple(valid, fc.constantFrom(...required)).map(([value, missing]) => {
      const { [missing]: _dropped, ...rest } = value
      return rest
    }))
  }
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const bad = invalidArbitrary(property, resolve, known)
    if (bad !== undefined) violations.push(fc.tuple(valid, bad).map(([value, badValue]) => ({ ...value, [key]: badValue })))
  }
  return violations
}

/** Adds fields the schema does not name (the server ignores them: only ever beside a real fault). */
export const withExtraFields = (value: unknown) =>
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).map((key) => `fuzz_${key}`), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
    .map((extra) => (typeof value === "object" && value !== null && !Array.isArray(value) ? { ...extra, ...value } : value))
