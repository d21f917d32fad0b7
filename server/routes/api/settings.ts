import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { ApiRepoParams, apiRepoId } from '../repo-params.js'

const Body = Type.Object(
  {
    visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private'), Type.Literal('protected')])),
    private: Type.Optional(Type.Boolean()),
    gated: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('manual'), Type.Literal(false)])),
    // py0 sends it; accepted and ignored (never enabled here).
    xetEnabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
)

/** PUT /api/{types}/{repo}/settings (docs/hub-api.md §3.4): visibility and gating. */
export function settingsRoute(app: FastifyInstance, ctx: Context) {
  app.put<{ Params: ApiRepoParams; Body: Static<typeof Body> }>(
    '/api/:types/:ns/:name/settings',
    { schema: { params: ApiRepoParams, body: Body }, config: { repo: { id: apiRepoId, action: 'admin' } } },
    async (request) => {
      const repo = request.repo
      const b = request.body
      if (b.visibility === 'protected' && repo.type !== 'space') throw errors.badRequest('Only spaces can be protected')
      const isPrivate = b.visibility !== undefined ? b.visibility !== 'public' : b.private
      ctx.repos.updateSettings(repo, { private: isPrivate, gated: b.gated === undefined ? undefined : b.gated || null })
      return {}
    },
  )
}
