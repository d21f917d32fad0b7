import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepoId, decoding, optionalBody, rawTail } from '../repo-params.js'

const Body = Type.Object({ message: Type.Optional(Type.String()) }, { additionalProperties: true })

/** POST /api/{types}/{repo}/super-squash/{branch} (docs/hub-api.md §8.5): one parentless commit, same tree. */
export function superSquashRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: ApiRepoParams; Body: Static<typeof Body> }>(
    '/api/:types/:ns/:name/super-squash/*',
    { schema: { params: ApiRepoParams, body: Body }, preValidation: optionalBody, config: { repo: { id: apiRepoId, action: 'write' } } },
    async (request) => {
      const repo = request.repo
      const branch = await decoding(() => revisionFrom(rawTail(request, 5)))
      const message = request.body.message || `Super-squash branch '${branch}'`
      const oid = await ctx.refs.superSquash(repo, branch || repo.default_branch, message, requireUser(request.actor).name)
      return { commitOid: oid }
    },
  )
}
