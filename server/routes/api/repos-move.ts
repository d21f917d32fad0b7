import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { parseRepoType } from '../../protocol/repo-id.js'

const Body = Type.Object({ fromRepo: Type.String(), toRepo: Type.String(), type: Type.Optional(Type.String()) }, { additionalProperties: true })

/** POST /api/repos/move (docs/hub-api.md §3.3): rename or transfer; the old id keeps answering with redirects. */
export function reposMoveRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Body: Static<typeof Body> }>('/api/repos/move', { schema: { body: Body } }, async (request) => {
    const type = parseRepoType(request.body.type)
    if (!type) throw errors.badRequest(`Unknown repo type "${String(request.body.type)}"`)
    const split = (id: string) => {
      const parts = id.split('/')
      if (parts.length !== 2) throw errors.unprocessable(`"${id}" is not a repo id of the form namespace/name`)
      return parts as [string, string]
    }
    const [fromNs, fromName] = split(request.body.fromRepo)
    const [toNs, toName] = split(request.body.toRepo)
    const repo = ctx.repos.get(type, fromNs, fromName, request.actor, 'admin')
    await ctx.repos.move(request.actor, repo, toNs, toName)
    return {}
  })
}
