import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireSiteAdmin } from '../../auth/access.js'
import { Account, accountJson, NameParams } from './schemas.js'

const Create = Type.Object({ name: Type.String(), fullname: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false })

/**
 * `/api/admin/users` and `/api/admin/orgs`: create, list and delete accounts (users and orgs share
 * one namespace). Server admin only.
 */
export function adminAccountsRoute(app: FastifyInstance, ctx: Context) {
  for (const [segment, type] of [['users', 'user'], ['orgs', 'org']] as const) {
    app.post<{ Body: Static<typeof Create> }>(
      `/api/admin/${segment}`,
      { schema: { body: Create, response: { 200: Account } } },
      async (request) => {
        requireSiteAdmin(request.actor, true)
        return accountJson(ctx.admin.createAccount(type, request.body.name, request.body.fullname ?? ''))
      },
    )
    app.get(`/api/admin/${segment}`, { schema: { response: { 200: Type.Array(Account) } } }, async (request) => {
      requireSiteAdmin(request.actor, false)
      return ctx.admin.accounts().filter((a) => a.type === type).map(accountJson)
    })
    app.delete<{ Params: NameParams }>(`/api/admin/${segment}/:name`, { schema: { params: NameParams } }, async (request) => {
      requireSiteAdmin(request.actor, true)
      ctx.admin.deleteAccount(type, request.params.name)
      return {}
    })
  }
}
