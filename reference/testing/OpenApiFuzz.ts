/**
 * Bad requests for every operation of an OpenAPI document. A request starts valid in every part (path,
 * query, headers, credentials, body: drawn from the operation's schemas) and then gets one or two faults,
 * each of which the server must refuse on its own: forged or missing credentials, a body that breaks
 * one constraint of its schema, a body of the wrong JSON type, bytes that are not JSON, another media
 * type, an oversized body, a bad path or query parameter or header, a method or path the contract does
 * not have, a URL longer than the server reads. Nothing here names an endpoint: new operations are covered as soon as the document lists them.
 */
import fc from "fast-check"
import { invalidArbitrary, resolver, stringViolations, typesOf, validArbitrary, withExtraFields } from "./OpenApiSchemas.js"
import type { JsonSchema, Resolve } from "./OpenApiSchemas.js"

export interface OpenApiDocument {
  readonly paths: Readonly<Record<string, Readonly<Record<string, OperationObject>>>>
  readonly components?: {
    readonly schemas?: Readonly<Record<string, JsonSchema>>
    readonly securitySchemes?: Readonly<Record<string, SecurityScheme>>
  }
}
interface OperationObject {
  readonly parameters?: ReadonlyArray<Parameter>
  readonly requestBody?: { readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>> }
  readonly security?: ReadonlyArray<Readonly<Record<string, ReadonlyArray<string>>>>
}
export interface Parameter {
  readonly name: string
  readonly in: "path" | "query" | "header" | "cookie"
  readonly required?: boolean
  readonly schema: JsonSchema
}
export interface SecurityScheme {
  readonly type: string
  readonly scheme?: string
  readonly name?: string
  readonly in?: string
}

export interface Operation {
  readonly method: string
  /** as the document writes it: `/orders/{orderId}` */
  readonly path: string
  readonly parameters: ReadonlyArray<Parameter>
  readonly body: { readonly mediaType: string; readonly schema: JsonSchema } | undefined
  /** the names of the security schemes any one of which admits the caller; empty for a public operation */
  readonly schemes: ReadonlyArray<string>
}

const httpMethods = ["get", "post", "put", "patch", "delete"] as const

export const operationsOf = (document: OpenApiDocument): ReadonlyArray<Operation> =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    httpMethods.filter((method) => item[method] !== undefined).map((method) => {
      const operation = item[method]!
      const [mediaType, content] = Object.entries(operation.requestBody?.content ?? {})[0] ?? []
      return {
        method: method.toUpperCase(), path, parameters: operation.parameters ?? [],
        body: mediaType === undefined || content === undefined ? undefined : { mediaType, schema: content.schema },
        schemes: [...new Set((operation.security ?? []).flatMap((requirement) => Object.keys(requirement)))]
      }
    }))

/** A request before it is sent: parts already encoded for the wire. */
export interface Draft {
  readonly method: string
  readonly path: string
  readonly pathParams: Readonly<Record<string, string>>
  readonly pathSuffix: string
  readonly query: ReadonlyArray<readonly [string, string]>
  readonly headers: Readonly<Record<string, string>>
  readonly body: { readonly text: string; readonly contentType: string } | undefined
  readonly faults: ReadonlyArray<string>
}

/**
 * `encodeURIComponent`, except that a lone surrogate (which it refuses) is sent as the bytes WTF-8 gives
 * it: a percent-escape the server cannot decode as UTF-8, which is the point.
 */
export const encodeComponent = (text: string) =>
  Array.from(text, (character) => {
    const unit = character.charCodeAt(0)
    if (character.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      return [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`).join("")
    }
    return encodeURIComponent(character)
  }).join("")

export const urlOf = (draft: Draft) => {
  const path = draft.path.replace(/\{(\w+)\}/g, (_, name: string) => draft.pathParams[name] ?? "")
  const query = draft.query.map(([key, value]) => `${encodeComponent(key)}=${encodeComponent(value)}`).join("&")
  return `${path}${draft.pathSuffix}${query.length > 0 ? `?${query}` : ""}`
}

/** What the fuzzer knows: valid credentials per scheme name, the strings that name real rows, the body limit. */
export interface FuzzContext {
  readonly document: OpenApiDocument
  /** scheme name → the headers a valid caller of that scheme sends */
  readonly credentials: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** credentials that look right and are not: an expired session, a key of another kind */
  readonly wrongCredentials: ReadonlyArray<Readonly<Record<string, string>>>
  readonly known: ReadonlyArray<string>
  readonly maxRequestBodyBytes: number
  /** credentials for one operation when its scheme is shared by several kinds of caller (devices); else `credentials` */
  readonly credentialsFor?: (operation: Operation) => Readonly<Record<string, string>> | undefined
}

/** Headers carrying credentials of the kinds the document knows: the ones to strip when forging. */
const credentialHeaderNames = (context: FuzzContext) =>
  Object.values(context.document.components?.securitySchemes ?? {}).map((scheme) =>
    scheme.type === "http" ? "authorization" : (scheme.name ?? "").toLowerCase())

const asText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value))

// ---- the valid starting point -----------------------------------------------------------------

const validDraft = (operation: Operation, context: FuzzContext, resolve: Resolve): fc.Arbitrary<Draft> => {
  const parametersIn = (place: Parameter["in"]) => operation.parameters.filter((parameter) => parameter.in === place)
  const valueOf = (parameter: Parameter) => validArbitrary(parameter.schema, resolve, context.known).map(asText)
  const pathParams = fc.record(Object.fromEntries(parametersIn("path").map((parameter) =>
    [parameter.name, valueOf(parameter).map(encodeComponent)])))
  const query = fc.tuple(...parametersIn("query").map((parameter) =>
    parameter.required === true
      ? valueOf(parameter).map((value) => [[parameter.name, value] as const])
      : fc.option(valueOf(parameter), { nil: undefined }).map((value) => (value === undefined ? [] : [[parameter.name, value] as const]))))
    .map((pairs) => pairs.flat())
  const headers = fc.tuple(...parametersIn("header").map((parameter) => valueOf(parameter).map((value) => [parameter.name, value] as const)))
    .map((pairs) => Object.fromEntries(pairs))
  const credentialHeaders = context.credentialsFor?.(operation)
    ?? operation.schemes.map((scheme) => context.credentials[scheme]).find((headers) => headers !== undefined) ?? {}
  const body = operation.body === undefined
    ? fc.constant(undefined)
    : validArbitrary(operation.body.schema, resolve, context.known).map((value) => ({ text: JSON.stringify(value), contentType: operation.body!.mediaType }))
  return fc.record({ pathParams, query, headers, body }).map((parts) => ({
    method: operation.method, path: operation.path, pathSuffix: "", faults: [],
    pathParams: parts.pathParams, query: parts.query, headers: { ...parts.headers, ...credentialHeaders }, body: parts.body
  }))
}

// ---- faults ------------------------------------------------------------------------------------

interface Fault {
  readonly name: string
  readonly apply: fc.Arbitrary<(draft: Draft) => Draft>
}

const withFault = (draft: Draft, name: string, change: Partial<Draft>): Draft => ({ ...draft, ...change, faults: [...draft.faults, name] })

const randomToken = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ maxLength: 80 }), fc.constantFrom("", " ", "null", "Bearer", "0".repeat(4096))
)

const authFault = (operation: Operation, context: FuzzContext): Fault | undefined => {
  if (operation.schemes.length === 0) return undefined
  const schemes = context.document.components?.securitySchemes ?? {}
  const stripped = (draft: Draft) => Object.fromEntries(Object.entries(draft.headers).filter(([name]) => !credentialHeaderNames(context).includes(name.toLowerCase())))
  // credentials of kinds the operation does not accept, sent as they are or in the header of one it does
  const otherKinds = [
    ...Object.entries(context.credentials).filter(([scheme]) => !operation.schemes.includes(scheme)).map(([, headers]) => headers),
    ...context.wrongCredentials
  ]
  const forgedFor = (scheme: string, token: string): Record<string, string> => {
    const definition = schemes[scheme]
    if (definition?.type === "http") return { authorization: `${definition.scheme === "bearer" ? "Bearer" : "Basic"} ${token}` }
    return definition?.name === undefined ? {} : { [definition.name]: token }
  }
  const otherValues = otherKinds.flatMap((headers) => Object.values(headers).map((value) => value.replace(/^Bearer /, "")))
  const forged = fc.oneof(
    fc.constant({}),
    fc.tuple(fc.constantFrom(...operation.schemes), randomToken).map(([scheme, token]) => forgedFor(scheme, token)),
    fc.tuple(fc.constantFrom(...operation.schemes), fc.constantFrom("Basic dXNlcjpwYXNz", "bearer", "Bearer  ", "Token abc")).map(([, value]) => ({ authorization: value })),
    ...(otherKinds.length > 0 ? [fc.constantFrom(...otherKinds)] : []),
    ...(otherValues.length > 0
      ? [fc.tuple(fc.constantFrom(...operation.schemes), fc.constantFrom(...otherValues)).map(([scheme, value]) => forgedFor(scheme, value))]
      : [])
  )
  return {
    name: "credentials",
    apply: forged.map((headers) => (draft: Draft) => withFault(draft, `credentials ${JSON.stringify(headers).slice(0, 80)}`, {
      headers: { ...stripped(draft), ...headers }
    }))
  }
}

const bodyFaults = (operation: Operation, context: FuzzContext, resolve: Resolve): ReadonlyArray<Fault> => {
  if (operation.body === undefined) return []
  const { schema, mediaType } = operation.body
  const faults: Array<Fault> = []
  const setBody = (name: string, text: string, contentType = mediaType) => (draft: Draft) => withFault(draft, name, { body: { text, contentType } })
  const broken = invalidArbitrary(schema, resolve, context.known)
  if (broken !== undefined) {
    faults.push({
      name: "body breaks its schema",
      apply: broken.chain((value) => fc.oneof(fc.constant(value), withExtraFields(value)))
        .map((value) => setBody("body breaks its schema", JSON.stringify(value)))
    })
  }
  const types = typesOf(schema, resolve)
  if (types !== "any") {
    const wrongType = fc.jsonValue({ maxDepth: 3 }).filter((value) => {
      const type = value === null ? "null" : Array.isArray(value) ? "array" : typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value
      return !types.has(type as never) && !(type === "integer" && types.has("number"))
    })
    faults.push({ name: "body of another JSON type", apply: wrongType.map((value) => setBody("body of another JSON type", JSON.stringify(value))) })
  }
  const notJson = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.constantFrom("{", "{\"a\":", "[1,2", "'single'", "{a:1}", "NaN", "undefined", "\u0000", "\uFEFF{}x", "{}}", "tru")
  ).filter((text) => {
    try {
      JSON.parse(text)
      return false
    } catch {
      return text.length > 0
    }
  })
  faults.push({ name: "body that is not JSON", apply: notJson.map((text) => setBody("body that is not JSON", text)) })
  const otherMediaTypes = ["text/plain", "application/x-www-form-urlencoded", "application/octet-stream", "multipart/form-data; boundary=fuzz", "application/xml", "text/html; charset=utf-8"]
    .filter((type) => !type.startsWith(mediaType))
  faults.push({
    name: "another media type",
    apply: fc.constantFrom(...otherMediaTypes).map((contentType) => (draft: Draft) =>
      withFault(draft, `media type ${contentType}`, { body: { text: draft.body?.text ?? "{}", contentType } }))
  })
  return faults
}

const oversizedBody = (operation: Operation, context: FuzzContext): Fault | undefined => {
  // fetch sends no body with GET or HEAD
  if (operation.method === "GET") return undefined
  return {
    name: "oversized body",
    apply: fc.integer({ min: 1, max: 4 * context.maxRequestBodyBytes }).map((extraBytes) => (draft: Draft) =>
      withFault(draft, `oversized body (+${extraBytes} bytes)`, {
        body: { text: JSON.stringify({ padding: "p".repeat(context.maxRequestBodyBytes + extraBytes) }), contentType: "application/json" }
      }))
  }
}

/** A parameter's value that its schema surely refuses, as text (parameters are strings on the wire). */
const invalidParameterText = (parameter: Parameter, resolve: Resolve): fc.Arbitrary<string> | undefined => {
  const schema = resolve(parameter.schema)
  if (schema.type === "string" && schema.anyOf === undefined && schema.oneOf === undefined) {
    const violations = stringViolations(schema)
    return violations.length > 0 ? fc.oneof(...violations).map(asText) : undefined
  }
  if (schema.type === "integer" || schema.type === "number") return fc.constantFrom("abc", "", "1e999x", "0x10g", "--1")
  return undefined
}

const parameterFaults = (operation: Operation, resolve: Resolve): ReadonlyArray<Fault> => {
  const faults: Array<Fault> = []
  for (const parameter of operation.parameters) {
    const invalid = invalidParameterText(parameter, resolve)
    const label = `${parameter.in} parameter ${parameter.name}`
    if (parameter.in === "path") {
      const values = fc.oneof(...(invalid === undefined ? [] : [invalid.map(encodeComponent)]), fc.constantFrom("%ZZ", "%", "%E0%A4%A"))
      faults.push({
        name: label,
        apply: values.map((value) => (draft: Draft) => withFault(draft, `${label} = ${value.slice(0, 60)}`, { pathParams: { ...draft.pathParams, [parameter.name]: value } }))
      })
    }
    if (parameter.in === "query") {
      const others = (draft: Draft) => draft.query.filter(([key]) => key !== parameter.name)
      const changes: Array<fc.Arbitrary<(draft: Draft) => Draft>> = []
      if (invalid !== undefined) {
        changes.push(invalid.map((value) => (draft: Draft) => withFault(draft, `${label} = ${value.slice(0, 60)}`, { query: [...others(draft), [parameter.name, value]] })))
      }
      if (parameter.required === true) changes.push(fc.constant((draft: Draft) => withFault(draft, `${label} missing`, { query: others(draft) })))
      if (resolve(parameter.schema).type !== "array") {
        changes.push(fc.constant((draft: Draft) => withFault(draft, `${label} twice`, { query: [...draft.query, [parameter.name, "AAA"], [parameter.name, "BBB"]] })))
      }
      if (changes.length > 0) faults.push({ name: label, apply: fc.oneof(...changes) })
    }
    if (parameter.in === "header") {
      const without = (draft: Draft) => Object.fromEntries(Object.entries(draft.headers).filter(([name]) => name.toLowerCase() !== parameter.name.toLowerCase()))
      const changes: Array<fc.Arbitrary<(draft: Draft) => Draft>> = []
      // a header value cannot hold control characters or non-Latin-1 text: fetch would refuse to send it
      const sendable = invalid?.filter((value) => /^[\x20-\x7e]*$/.test(value) && value.trim() === value)
      if (sendable !== undefined) {
        changes.push(sendable.map((value) => (draft: Draft) => withFault(draft, `${label} = ${value.slice(0, 60)}`, { headers: { ...without(draft), [parameter.name]: value } })))
      }
      if (parameter.required === true) changes.push(fc.constant((draft: Draft) => withFault(draft, `${label} missing`, { headers: without(draft) })))
      if (changes.length > 0) faults.push({ name: label, apply: fc.oneof(...changes) })
    }
  }
  return faults
}

const routeFaults = (operation: Operation, context: FuzzContext): ReadonlyArray<Fault> => {
  const defined = Object.keys(context.document.paths[operation.path] ?? {}).map((method) => method.toUpperCase())
  const otherMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"].filter((method) => !defined.includes(method))
  return [
    {
      name: "a method the path does not have",
      apply: fc.constantFrom(...otherMethods).map((method) => (draft: Draft) => withFault(draft, `method ${method}`, {
        method, ...(method === "GET" ? { body: undefined } : {})
      }))
    },
    {
      // Node's HTTP parser reads 16 KiB of request line and headers
      name: "a URL longer than the server reads",
      apply: fc.integer({ min: 17_000, max: 40_000 }).map((length) => (draft: Draft) =>
        withFault(draft, `a ${length}-character query`, { query: [...draft.query, ["fuzz", "q".repeat(length)]] }))
    },
    {
      name: "a path the contract does not have",
      apply: fc.stringMatching(/^[a-z0-9-]{1,12}$/).map((segment) => (draft: Draft) =>
        withFault(draft, `path + /fuzz-${segment}`, { pathSuffix: `/fuzz-${segment}` }))
    }
  ]
}

/** Every fault that applies to the operation. */
export const faultsOf = (operation: Operation, context: FuzzContext, resolve: Resolve): ReadonlyArray<Fault> => [
  ...[authFault(operation, context), oversizedBody(operation, context)].filter((fault): fault is Fault => fault !== undefined),
  ...bodyFaults(operation, context, resolve),
  ...parameterFaults(operation, resolve),
  ...routeFaults(operation, context)
]

/** Valid requests of the operation with one or two faults each. */
export const badRequests = (operation: Operation, context: FuzzContext): fc.Arbitrary<Draft> => {
  const resolve = resolver(context.document.components?.schemas ?? {})
  const faults = faultsOf(operation, context, resolve)
  const chosen = fc.subarray([...faults], { minLength: 1, maxLength: 2 })
    .chain((picked) => fc.tuple(...picked.map((fault) => fault.apply)))
  return fc.tuple(validDraft(operation, context, resolve), chosen)
    .map(([draft, changes]) => changes.reduce((changed, change) => change(changed), draft))
}

/** Faults an admitted caller's request is refused for by decoding its input: 400 HttpApiDecodeError, always. */
const decodingFaultNames = ["body breaks its schema", "body of another JSON type", "body that is not JSON"]

/**
 * Valid requests of the operation with exactly one fault in its input (body, path, query or header) and
 * valid credentials: each must get past authentication and be refused by decoding. Undefined when the
 * operation has no input to break.
 */
export const decodingProbes = (operation: Operation, context: FuzzContext): fc.Arbitrary<Draft> | undefined => {
  const resolve = resolver(context.document.components?.schemas ?? {})
  const faults = [...bodyFaults(operation, context, resolve), ...parameterFaults(operation, resolve)]
    .filter((fault) => decodingFaultNames.includes(fault.name) || / parameter /.test(fault.name))
  if (faults.length === 0) return undefined
  return fc.tuple(validDraft(operation, context, resolve), fc.oneof(...faults.map((fault) => fault.apply)))
    .map(([draft, change]) => change(draft))
    // an empty path segment leads to another route, not to decoding
    .filter((draft) => Object.values(draft.pathParams).every((value) => value.length > 0))
}

/** Requests of the operation that are valid in every part (they may still name rows that do not exist). */
export const wellFormedRequests = (operation: Operation, context: FuzzContext): fc.Arbitrary<Draft> =>
  validDraft(operation, context, resolver(context.document.components?.schemas ?? {}))

export interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
}

/** Sends a draft over real HTTP; a network failure is thrown with the request it answered. */
export const send = async (baseUrl: string, draft: Draft): Promise<Answer> => {
  const headers: Record<string, string> = { ...draft.headers, ...(draft.body === undefined ? {} : { "content-type": draft.body.contentType }) }
  try {
    const response = await fetch(`${baseUrl}${urlOf(draft)}`, {
      method: draft.method, headers, ...(draft.body === undefined ? {} : { body: draft.body.text })
    })
    return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() }
  } catch (error) {
    throw new Error(`network error for ${draft.method} ${urlOf(draft).slice(0, 200)} (${draft.faults.join("; ")}): ${String(error)}`, { cause: error })
  }
}

export const describeDraft = (draft: Draft) =>
  `${draft.method} ${urlOf(draft).slice(0, 300)} faults=[${draft.faults.join("; ")}] headers=${JSON.stringify(draft.headers).slice(0, 300)} ` +
  `body=${draft.body === undefined ? "none" : `${draft.body.contentType} ${draft.body.text.slice(0, 300)}`}`
