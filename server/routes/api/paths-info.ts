import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { queryBool } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { TreeEntrySchema, toWireEntry } from '../../schemas/tree-entry.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'

const Body = Type.Object(
  {
    paths: Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 1000 })]),
    expand: Type.Optional(Type.Union([Type.Boolean(), Type.String()])),
  },
  { additionalProperties: true },
)

/**
 * POST /api/{types}/{repo}/paths-info/{rev} (docs/hub-api.md §4.2): JSON from js, form-encoded from py.
 * Missing paths are left out silently.
 */
export function pathsInfoRoute(app: FastifyInstance, ctx: Context) {
  const xetHashOf = (oid: string) => (ctx.config.xet ? ctx.xet.fileOf(oid)?.fileHash : undefined)
  app.post<{ Params: ApiRepoParams; Body: { paths: string | string[]; expand?: boolean | string } }>(
    '/api/:types/:ns/:name/paths-info/*',
    { schema: { params: ApiRepoParams, body: Body, response: { 200: Type.Array(TreeEntrySchema) } }, config: { repo: { id: apiRepoId, action: 'read' } } },
    async (request) => {
      const repo = request.repo
      const rev = await decoding(() => revisionFrom(rawTail(request, 5)))
      const { commit } = await ctx.content.resolve(repo, rev, ctx.content.refs(repo))
      const paths = Array.isArray(request.body.paths) ? request.body.paths : [request.body.paths]
      if (paths.length > 1000) throw errors.badRequest('At most 1000 paths per call')
      queryBool(request.body.expand) // @NOTE: lastCommit is optional even with expand (docs/hub-api.md §4.4); not computed yet.
      const out = []
      for (const p of new Set(paths.map((x) => x.replace(/^\/+|\/+$/g, '')))) {
        const e = p === '' ? null : await ctx.content.entry(repo, commit, p)
        if (e) out.push(toWireEntry(e, xetHashOf))
      }
      return out
    },
  )
}
