import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'

const WhoAmI = Type.Object({
  type: Type.String(),
  id: Type.String(),
  name: Type.String(),
  fullname: Type.String(),
  email: Type.Null(),
  emailVerified: Type.Boolean(),
  isPro: Type.Boolean(),
  canPay: Type.Boolean(),
  periodEnd: Type.Null(),
  avatarUrl: Type.String(),
  orgs: Type.Array(
    Type.Object({
      type: Type.Literal('org'),
      id: Type.String(),
      name: Type.String(),
      fullname: Type.String(),
      email: Type.Null(),
      canPay: Type.Boolean(),
      periodEnd: Type.Null(),
      avatarUrl: Type.String(),
      roleInOrg: Type.String(),
    }),
  ),
  auth: Type.Object({
    type: Type.Literal('access_token'),
    accessToken: Type.Object({ displayName: Type.String(), role: Type.String(), createdAt: Type.String() }),
  }),
})

/** GET /api/whoami-v2 (docs/hub-api.md §2.1): 401 for a missing or unknown token, which is what `login` checks. */
export function whoamiRoute(app: FastifyInstance, ctx: Context) {
  app.get('/api/whoami-v2', { schema: { response: { 200: WhoAmI } } }, async (request) => {
    const user = requireUser(request.actor)
    const token = request.actor.token!
    return {
      type: user.type,
      id: user.id,
      name: user.name,
      fullname: user.fullname || user.name,
      email: null,
      emailVerified: false,
      isPro: false,
      canPay: false,
      periodEnd: null,
      avatarUrl: `${ctx.publicUrl()}/avatars/${user.name}.svg`,
      orgs: request.actor.memberships.map((m) => ({
        type: 'org' as const,
        id: m.org_id,
        name: m.org,
        fullname: m.org_fullname || m.org,
        email: null,
        canPay: false,
        periodEnd: null,
        avatarUrl: `${ctx.publicUrl()}/avatars/${m.org}.svg`,
        roleInOrg: m.role,
      })),
      auth: {
        type: 'access_token' as const,
        accessToken: { displayName: token.name, role: token.role, createdAt: token.created_at },
      },
    }
  })
}
