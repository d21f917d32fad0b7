import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireSiteAdmin } from '../../auth/access.js'

const OrgParams = Type.Object({ org: Type.String({ maxLength: 200 }) })
const MemberParams = Type.Object({ org: Type.String({ maxLength: 200 }), user: Type.String({ maxLength: 200 }) })
// The role is checked by the service, so a wrong one gets the same message from the CLI and here.
const Body = Type.Object({ role: Type.String() }, { additionalProperties: false })
const Member = Type.Object({ user: Type.String(), role: Type.String() })

/** `/api/admin/orgs/:org/members[/:user]`: who belongs to an org, with which role. Server admin only. */
export function adminMembersRoute(app: FastifyInstance, ctx: Context) {
  app.get<{ Params: Static<typeof OrgParams> }>(
    '/api/admin/orgs/:org/members',
    { schema: { params: OrgParams, response: { 200: Type.Array(Member) } } },
    async (request) => {
      requireSiteAdmin(request.actor, false)
      return ctx.admin.members(request.params.org)
    },
  )
  app.put<{ Params: Static<typeof MemberParams>; Body: Static<typeof Body> }>(
    '/api/admin/orgs/:org/members/:user',
    { schema: { params: MemberParams, body: Body, response: { 200: Type.Object({ org: Type.String(), user: Type.String(), role: Type.String() }) } } },
    async (request) => {
      requireSiteAdmin(request.actor, true)
      return ctx.admin.setMember(request.params.org, request.params.user, request.body.role)
    },
  )
  app.delete<{ Params: Static<typeof MemberParams> }>('/api/admin/orgs/:org/members/:user', { schema: { params: MemberParams } }, async (request) => {
    requireSiteAdmin(request.actor, true)
    ctx.admin.removeMember(request.params.org, request.params.user)
    return {}
  })
}
