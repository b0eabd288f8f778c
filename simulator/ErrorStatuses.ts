/**
 * The HTTP status of each error tag, as the one HttpApi contract declares it (`SoldOut` → 409), so a report can
 * say which status an error came with without the history recording it. A `ResponseError` the client could not
 * decode is recorded as `HTTP<status>`; a tag the contract does not know (a lost answer, a client timeout, a
 * transport failure) has no status: no answer came.
 */
import { HttpApi } from "@effect/platform"
import { Option, SchemaAST } from "effect"
import { ChunyunApi } from "../reference/Api.js"

/** The `_tag` literal of a tagged error's encoded side. */
const tagOf = (ast: SchemaAST.AST): string | undefined => {
  const encoded = SchemaAST.isTransformation(ast) ? ast.from : ast
  if (!SchemaAST.isTypeLiteral(encoded)) return undefined
  const tag = encoded.propertySignatures.find((property) => property.name === "_tag")
  return tag !== undefined && SchemaAST.isLiteral(tag.type) ? String(tag.type.literal) : undefined
}

const statusesOfContract = (): ReadonlyMap<string, number> => {
  const statuses = new Map<string, number>()
  HttpApi.reflect(ChunyunApi, {
    onGroup: () => {},
    onEndpoint: ({ errors }) => {
      for (const [status, { ast }] of errors) {
        if (Option.isNone(ast)) continue
        const members = SchemaAST.isUnion(ast.value) ? ast.value.types : [ast.value]
        for (const member of members) {
          const tag = tagOf(member)
          if (tag !== undefined) statuses.set(tag, status)
        }
      }
    }
  })
  return statuses
}

let contractStatuses: ReadonlyMap<string, number> | undefined

/** The status the server answers `tag` with; undefined when no answer came. */
export const httpStatusOf = (tag: string): number | undefined => {
  const fromResponse = /^HTTP(\d{3})$/.exec(tag)
  if (fromResponse !== null) return Number(fromResponse[1])
  contractStatuses ??= statusesOfContract()
  return contractStatuses.get(tag)
}
