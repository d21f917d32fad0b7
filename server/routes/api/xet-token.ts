import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { ApiRepoParams, apiRepoId } from '../repo-params.js'

const Query = Type.Object({ create_pr: Type.Optional(Type.String()) }, { additionalProperties: true })

/**
 * GET /api/{types}/{repo}/xet-{read,write}-token/{rev} (docs/xet-protocol.md §1.1): a short-lived CAS
 * token bound to the repo and the operation, in the JSON body (new clients) and the X-Xet-*
 * headers (py ≤ 1.18). With HUBD_XET=off: an explicit, actionable 501 (docs/hub-api.md §5.5).
 */
export function xetTokenRoute(app: FastifyInstance, ctx: Context) {
  for (const kind of ['read', 'write'] as const) {
    type Request = FastifyRequest<{ Params: ApiRepoParams; Querystring: Static<typeof Query> }>
    // py sends the literal `None` with ?create_pr=1 (it does not know the PR ref yet).
    const forNewPr = (request: Request) =>
      kind === 'write' && (request.params['*'] === 'None' || request.query.create_pr === '1' || request.query.create_pr === 'true')
    app.get<{ Params: ApiRepoParams; Querystring: Static<typeof Query> }>(
      `/api/:types/:ns/:name/xet-${kind}-token/*`,
      {
        schema: { params: ApiRepoParams, querystring: Query },
        // Uploads for a new pull request need only the right to contribute, like its LFS uploads.
        config: { repo: { id: apiRepoId, action: (request) => (forNewPr(request as Request) ? 'contribute' : kind) } },
      },
      async (request, reply) => {
        const rev = request.params['*'] ?? ''
        const newPr = forNewPr(request)
        const repo = request.repo
        if (!ctx.config.xet) throw errors.notImplemented('Xet storage is not supported by this server; set HF_HUB_DISABLE_XET=1')
        if (!newPr && rev !== '' && rev !== 'None') await ctx.content.resolve(repo, rev)
        const t = ctx.xet.issueToken(repo, kind, request.actor.user?.name ?? null)
        reply.headers({ 'X-Xet-Cas-Url': t.casUrl, 'X-Xet-Access-Token': t.accessToken, 'X-Xet-Token-Expiration': String(t.exp) })
        return t
      },
    )
  }
}
