/**
 * The OpenAPI 3.1 document of the admin and PIM APIs (DESIGN.md §7), generated from the zod
 * schemas and `docs` of the mounted functions under /api/.
 */
import * as z from 'zod'
import { ADMIN_SCOPES } from '../admin-scopes.ts'
import type { RouteEntry } from './define-function.ts'

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' })

const PROBLEM_CONTENT = {
  'application/problem+json': {
    schema: {
      type: 'object',
      required: ['type', 'title', 'status', 'code'],
      properties: {
        type: { type: 'string' },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string' },
        code: { type: 'string', description: 'Stable machine-readable code.' },
        errors: {
          type: 'array',
          items: {
            type: 'object',
            properties: { pointer: { type: 'string' }, detail: { type: 'string' } },
          },
        },
      },
    },
  },
}

const PROBLEM = { description: 'An error (RFC 9457).', content: PROBLEM_CONTENT }
const problem = (description: string) => ({ description, content: PROBLEM_CONTENT })

/**
 * The errors every route of its kind can answer, so a client generated from the document
 * knows them: bad input, a missing or weak token, an id that names nothing here.
 */
function standardProblems(fn: RouteEntry['fn']): Record<string, unknown> {
  return {
    ...(fn.body || fn.query || fn.params
      ? { 400: problem('The request is malformed or a value is invalid (`errors` points at each).') }
      : {}),
    ...(fn.scope
      ? {
          401: problem('No access token, or one that is invalid or expired.'),
          403: problem(`The access token lacks the scope \`${fn.scope}\`.`),
        }
      : {}),
    ...(fn.params ? { 404: problem('Nothing with that id in this organization.') } : {}),
  }
}

function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query') {
  if (!schema) return []
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, unknown>; required?: string[] }
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: s,
  }))
}

export function openApiDocument(routes: readonly RouteEntry[], issuer: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    if (!route.path.startsWith('/api/')) continue
    const { fn } = route
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')
    for (const method of route.methods) {
      const responses: Record<string, unknown> = { ...standardProblems(fn), default: PROBLEM }
      for (const [status, r] of Object.entries(fn.docs?.responses ?? {})) {
        responses[status] = r.schema
          ? {
              description: r.description,
              content: { 'application/json': { schema: jsonSchema(r.schema, 'output') } },
            }
          : { description: r.description }
      }
      paths[path] ??= {}
      paths[path][method.toLowerCase()] = {
        summary: fn.docs?.summary,
        operationId: `${method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m: string, ch?: string) => (ch ?? '').toUpperCase())}`,
        tags: [route.plane],
        ...(fn.scope ? { security: [{ oauth2: [fn.scope] }] } : {}),
        parameters: [...parametersOf(fn.params, 'path'), ...parametersOf(fn.query, 'query')],
        ...(fn.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchema(fn.body, 'input') } },
              },
            }
          : {}),
        responses,
      }
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'ZenoAuth admin API', version: '1' },
    servers: [{ url: issuer }],
    paths,
    components: {
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          description:
            'A bearer access token of this organization (client credentials) with the scope named.',
          flows: {
            clientCredentials: {
              tokenUrl: `${issuer}/oauth/token`,
              scopes: Object.fromEntries(ADMIN_SCOPES.map((s) => [s, s])),
            },
          },
        },
      },
    },
  }
}
