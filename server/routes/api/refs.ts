import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { queryBool } from '../../protocol/query.js'
import { ApiRepoParams, apiRepoId } from '../repo-params.js'

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
    { schema: { params: ApiRepoParams, response: { 200: Refs } }, config: { repo: { id: apiRepoId, action: 'read' } } },
    async (request) => {
      return ctx.refs.list(request.repo, queryBool(request.query.include_prs))
    },
  )
}
