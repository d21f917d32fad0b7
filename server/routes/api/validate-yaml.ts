import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { parseFrontMatter } from '../../protocol/front-matter.js'

const Body = Type.Object({ content: Type.String(), repoType: Type.Optional(Type.String()) }, { additionalProperties: true })

/**
 * POST /api/validate-yaml (docs/hub-api.md §5.2). py calls `.json()` before checking the status, so every
 * answer, good or bad, is JSON with `errors` and `warnings`.
 */
export function validateYamlRoute(app: FastifyInstance) {
  app.post<{ Body: Static<typeof Body> }>('/api/validate-yaml', { schema: { body: Body } }, async (request, reply) => {
    const result = parseFrontMatter(request.body.content)
    if (result.kind === 'invalid') {
      const message = `Invalid YAML in README.md metadata: ${result.message}`
      reply.code(400).header('X-Error-Message', message.replace(/[^\x20-\x7e]/g, '?').slice(0, 500))
      return { error: message, errors: [{ message }], warnings: [] }
    }
    const warnings = result.kind === 'empty' ? [{ message: 'Empty or missing yaml metadata in repo card' }] : []
    return { errors: [], warnings }
  })
}
