import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireSiteAdmin } from '../../auth/access.js'

const Repo = Type.Object({ id: Type.String(), type: Type.String(), private: Type.Boolean(), usedStorage: Type.Number() })

/** `GET /api/admin/repos`: every repository with its size (private ones included). Server admin only. */
export function adminReposRoute(app: FastifyInstance, ctx: Context) {
  app.get('/api/admin/repos', { schema: { response: { 200: Type.Array(Repo) } } }, async (request) => {
    requireSiteAdmin(request.actor, false)
    return ctx.admin.repoList()
  })
}
