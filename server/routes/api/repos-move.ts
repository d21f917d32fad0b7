import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { parseRepoType, type RepoId } from '../../protocol/repo-id.js'

const Body = Type.Object({ fromRepo: Type.String(), toRepo: Type.String(), type: Type.Optional(Type.String()) }, { additionalProperties: true })

function split(id: string): [string, string] {
  const parts = id.split('/')
  if (parts.length !== 2) throw errors.unprocessable(`"${id}" is not a repo id of the form namespace/name`)
  return parts as [string, string]
}

/** The repo to move, once both ids in the body are well-formed (checked before any access check). */
function fromRepoId(request: FastifyRequest): RepoId {
  const body = request.body as Static<typeof Body>
  const type = parseRepoType(body.type)
  if (!type) throw errors.badRequest(`Unknown repo type "${String(body.type)}"`)
  const [namespace, name] = split(body.fromRepo)
  split(body.toRepo)
  return { type, namespace, name }
}

/** POST /api/repos/move (docs/hub-api.md §3.3): rename or transfer; the old id keeps answering with redirects. */
export function reposMoveRoute(app: FastifyInstance, ctx: Context) {
  const options = { schema: { body: Body }, config: { repo: { id: fromRepoId, action: 'admin' as const } } }
  app.post<{ Body: Static<typeof Body> }>('/api/repos/move', options, async (request) => {
    const [toNs, toName] = split(request.body.toRepo)
    await ctx.repos.move(request.actor, request.repo, toNs, toName)
    return {}
  })
}
