import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireSiteAdmin } from '../../auth/access.js'

const Create = Type.Object(
  {
    user: Type.String({ maxLength: 200 }),
    role: Type.String(),
    name: Type.Optional(Type.String()),
    expiresAt: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
)
const Nullable = Type.Union([Type.String(), Type.Null()])
const Info = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  user: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable,
  lastUsedAt: Nullable,
  revokedAt: Nullable,
})
const Created = Type.Object({
  id: Type.String(),
  token: Type.String(),
  name: Type.String(),
  role: Type.String(),
  user: Type.String(),
  createdAt: Type.String(),
  expiresAt: Nullable,
})
const Query = Type.Object({ user: Type.Optional(Type.String({ maxLength: 200 })) })
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) })

/**
 * `/api/admin/tokens`: create (the secret is in this answer only), list (never the secret) and
 * revoke tokens. Server admin only.
 */
export function adminTokensRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Body: Static<typeof Create> }>('/api/admin/tokens', { schema: { body: Create, response: { 200: Created } } }, async (request) => {
    requireSiteAdmin(request.actor, true)
    return ctx.admin.createToken(request.body)
  })
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/admin/tokens',
    { schema: { querystring: Query, response: { 200: Type.Array(Info) } } },
    async (request) => {
      requireSiteAdmin(request.actor, false)
      return ctx.admin.tokens(request.query.user)
    },
  )
  app.delete<{ Params: Static<typeof IdParams> }>('/api/admin/tokens/:id', { schema: { params: IdParams } }, async (request) => {
    requireSiteAdmin(request.actor, true)
    ctx.admin.revokeToken(request.params.id)
    return {}
  })
}
