import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { errors } from '../../errors.js'
import { parseRepoType } from '../../protocol/repo-id.js'

const Body = Type.Object(
  {
    name: Type.String(),
    organization: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true },
)

/** DELETE /api/repos/delete (docs/hub-api.md §3.2): a DELETE with a JSON body. */
export function reposDeleteRoute(app: FastifyInstance, ctx: Context) {
  app.delete<{ Body: Static<typeof Body> }>('/api/repos/delete', { schema: { body: Body } }, async (request) => {
    const type = parseRepoType(request.body.type)
    if (!type) throw errors.badRequest(`Unknown repo type "${String(request.body.type)}"`)
    // The namespace defaults to the caller's own; an anonymous caller naming a repo gets what any
    // unreadable repo gets (RepoNotFound for a private one), never a hint that it exists.
    let namespace = request.body.organization || request.actor.user?.name || ''
    let name = request.body.name
    if (!request.body.organization && name.includes('/')) {
      const parts = name.split('/')
      // Not split('/', 2): that would delete `a/b` when asked for `a/b/c`. No such repo can exist.
      if (parts.length !== 2) throw errors.repoNotFound()
      ;[namespace, name] = parts as [string, string]
    }
    if (namespace === '') requireUser(request.actor)
    const repo = ctx.repos.get(type, namespace, name, request.actor, 'admin')
    await ctx.repos.remove(repo)
    return {}
  })
}
