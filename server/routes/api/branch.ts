import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepoId, decoding, optionalBody, rawTail } from '../repo-params.js'

const Body = Type.Object(
  {
    startingPoint: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    emptyBranch: Type.Optional(Type.Boolean()),
    overwrite: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
)

/** POST and DELETE /api/{types}/{repo}/branch/{branch} (docs/hub-api.md §8.2). */
export function branchRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: ApiRepoParams; Body: Static<typeof Body> }>(
    '/api/:types/:ns/:name/branch/*',
    { schema: { params: ApiRepoParams, body: Body }, preValidation: optionalBody, config: { repo: { id: apiRepoId, action: 'write' } } },
    async (request) => {
      const repo = request.repo
      const name = await decoding(() => revisionFrom(rawTail(request, 5)))
      const b = request.body
      await ctx.refs.createBranch(repo, name, {
        startingPoint: b.startingPoint || null,
        overwrite: b.overwrite === true,
        emptyBranch: b.emptyBranch === true,
        user: requireUser(request.actor).name,
      })
      return {}
    },
  )
  const write = { schema: { params: ApiRepoParams }, config: { repo: { id: apiRepoId, action: 'write' as const } } }
  app.delete<{ Params: ApiRepoParams }>('/api/:types/:ns/:name/branch/*', write, async (request) => {
    await ctx.refs.deleteBranch(request.repo, await decoding(() => revisionFrom(rawTail(request, 5))))
    return {}
  })
}
