import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepo, decoding, optionalBody, rawTail } from '../repo-params.js'

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
    { schema: { params: ApiRepoParams, body: Body }, preValidation: optionalBody },
    async (request) => {
      const repo = apiRepo(ctx, request, request.params, 'write')
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
  app.delete<{ Params: ApiRepoParams }>('/api/:types/:ns/:name/branch/*', { schema: { params: ApiRepoParams } }, async (request) => {
    const repo = apiRepo(ctx, request, request.params, 'write')
    await ctx.refs.deleteBranch(repo, await decoding(() => revisionFrom(rawTail(request, 5))))
    return {}
  })
}
