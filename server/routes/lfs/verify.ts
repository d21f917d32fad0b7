import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors, HubError } from '../../errors.js'

const Params = Type.Object({ oid: Type.String({ pattern: '^[0-9a-f]{64}$' }) })
const Query = Type.Object({ repo: Type.String(), size: Type.String(), exp: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) }, { additionalProperties: true })
const Body = Type.Object({ oid: Type.String(), size: Type.Integer() }, { additionalProperties: true })

/** POST /api/lfs/verify/{oid} (docs/hub-api.md §5.9): 200 when the object is stored for the repo, else 404. */
export function lfsVerifyRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: Static<typeof Params>; Querystring: Static<typeof Query>; Body: Static<typeof Body> }>(
    '/api/lfs/verify/:oid',
    { schema: { params: Params, querystring: Query, body: Body }, config: { lfsErrors: true } },
    async (request) => {
      const { oid } = request.params
      const size = Number(request.query.size)
      ctx.lfs.checkSignature(['verify', request.query.repo, oid, size], request.query)
      const repo = ctx.repos.byId(request.query.repo)
      if (!repo) throw errors.repoNotFound()
      if (request.body.oid !== oid || request.body.size !== size) throw errors.badRequest('oid or size does not match this URL')
      if (!ctx.lfs.verify(repo, oid, size)) throw new HubError(404, `Object ${oid} is not stored`)
      return {}
    },
  )
}
