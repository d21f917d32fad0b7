import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { ApiRepoParams, apiRepo } from '../repo-params.js'

/**
 * GET /api/{types}/{repo}/xet-{read,write}-token/{rev}: an explicit, actionable refusal until Xet
 * lands (spec 5.5), so py1 ≥ 1.20 users see what to do instead of an opaque hf_xet failure.
 */
export function xetTokenRoute(app: FastifyInstance, ctx: Context) {
  for (const kind of ['read', 'write'] as const) {
    app.get<{ Params: ApiRepoParams }>(`/api/:types/:ns/:name/xet-${kind}-token/*`, { schema: { params: ApiRepoParams } }, async (request) => {
      apiRepo(ctx, request, request.params, kind)
      throw errors.notImplemented('Xet storage is not supported by this server; set HF_HUB_DISABLE_XET=1')
    })
  }
}
