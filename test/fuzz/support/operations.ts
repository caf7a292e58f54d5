// The operations of openapi.yaml, dereferenced: what the fuzzer generates requests from.
import { readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import { parse } from 'yaml'
import type { JsonSchema } from './arbitraries.js'

export interface Operation {
  method: string
  /** OpenAPI path, e.g. /tokens/{userId} */
  path: string
  pathParams: Array<{ name: string; schema: JsonSchema }>
  queryParams: Array<{ name: string; schema: JsonSchema }>
  body?: JsonSchema
  /** security scheme names, e.g. ['admin'] */
  security: string[]
  /** documented status → content types ('' for a response without content) */
  responses: Map<number, string[]>
}

interface RawOperation {
  parameters?: Array<{ in: string; name: string; schema: JsonSchema }>
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> }
  security?: Array<Record<string, unknown>>
  responses?: Record<string, { content?: Record<string, unknown> }>
}

export async function loadOperations(): Promise<Operation[]> {
  const document = parse(readFileSync(new URL('../../../openapi.yaml', import.meta.url), 'utf8'))
  const api = (await SwaggerParser.dereference(document)) as unknown as {
    paths: Record<string, Record<string, RawOperation>>
  }
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(api.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const parameters = raw.parameters ?? []
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map(({ name, schema }) => ({ name, schema })),
        queryParams: parameters.filter((p) => p.in === 'query').map(({ name, schema }) => ({ name, schema })),
        body: raw.requestBody?.content?.['application/json']?.schema,
        security: (raw.security ?? []).flatMap((entry) => Object.keys(entry)),
        responses: new Map(
          Object.entries(raw.responses ?? {}).map(([status, response]) => [
            Number(status),
            Object.keys(response.content ?? {}),
          ]),
        ),
      })
    }
  }
  return operations
}
