import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { queryBool } from '../../protocol/query.js'
import { ApiRepoParams, apiRepo } from '../repo-params.js'

const Ref = Type.Object({ name: Type.String(), ref: Type.String(), targetCommit: Type.String() })
const Refs = Type.Object({
  branches: Type.Array(Ref),
  converts: Type.Array(Ref),
  tags: Type.Array(Ref),
  pullRequests: Type.Optional(Type.Array(Ref)),
})

/** GET /api/{types}/{repo}/refs[?include_prs=1] (docs/hub-api.md §8.1). */
export function refsRoute(app: FastifyInstance, ctx: Context) {
  app.get<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/refs',
    { schema: { params: ApiRepoParams, response: { 200: Refs } } },
    async (request) => {
      const repo = apiRepo(ctx, request, request.params, 'read')
      return ctx.refs.list(repo, queryBool(request.query.include_prs))
    },
  )
}
