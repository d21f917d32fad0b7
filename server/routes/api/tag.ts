import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'

const Body = Type.Object({ tag: Type.String(), message: Type.Optional(Type.Union([Type.String(), Type.Null()])) }, { additionalProperties: true })

/** POST /api/{types}/{repo}/tag/{rev} creates a tag on rev; DELETE …/tag/{tag} removes one (docs/hub-api.md §8.3). */
export function tagRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: ApiRepoParams; Body: Static<typeof Body> }>(
    '/api/:types/:ns/:name/tag/*',
    { schema: { params: ApiRepoParams, body: Body }, config: { repo: { id: apiRepoId, action: 'write' } } },
    async (request) => {
      const repo = request.repo
      const rev = await decoding(() => revisionFrom(rawTail(request, 5)))
      await ctx.refs.createTag(repo, rev || repo.default_branch, request.body.tag, request.body.message || null, requireUser(request.actor).name)
      return {}
    },
  )
  const write = { schema: { params: ApiRepoParams }, config: { repo: { id: apiRepoId, action: 'write' as const } } }
  app.delete<{ Params: ApiRepoParams }>('/api/:types/:ns/:name/tag/*', write, async (request) => {
    await ctx.refs.deleteTag(request.repo, await decoding(() => revisionFrom(rawTail(request, 5))))
    return {}
  })
}
