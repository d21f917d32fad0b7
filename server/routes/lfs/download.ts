import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors, HubError } from '../../errors.js'
import { parseRange } from '../../protocol/range.js'

const Params = Type.Object({ oid: Type.String({ pattern: '^[0-9a-f]{64}$' }) })
const Query = Type.Object(
  { repo: Type.String(), size: Type.String({ pattern: '^\\d{1,16}$' }), exp: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/**
 * GET|HEAD /api/lfs/download/{oid}?repo&size&exp&sig — the basic transfer's download (git-lfs),
 * from the batch API's `download` action. The signed URL is the only credential; it streams the
 * object from the blob store, with a single Range → 206 (git-lfs resumes interrupted downloads).
 */
export function lfsDownloadRoute(app: FastifyInstance, ctx: Context) {
  app.route<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>({
    method: ['GET', 'HEAD'],
    url: '/api/lfs/download/:oid',
    schema: { params: Params, querystring: Query },
    config: { lfsErrors: true },
    handler: async (request, reply) => {
      const { oid } = request.params
      const size = Number(request.query.size)
      ctx.lfs.checkSignature(['download', request.query.repo, oid, size], request.query, 'Download')
      const repo = ctx.repos.byId(request.query.repo)
      if (!repo) throw errors.repoNotFound()
      const range = request.method === 'HEAD' ? ({ kind: 'full' } as const) : parseRange(request.headers.range, size)
      if (range.kind === 'unsatisfiable') throw errors.rangeNotSatisfiable(size)
      const start = range.kind === 'partial' ? range.start : 0
      const end = range.kind === 'partial' ? range.end : size - 1
      const body = size === 0 || request.method === 'HEAD' ? null : await ctx.lfs.read(repo, oid, size, { start, end })
      if (body === null && size > 0 && request.method !== 'HEAD') throw new HubError(404, `Object ${oid} is not stored`)
      reply.headers({
        'Content-Type': 'application/octet-stream',
        'Accept-Ranges': 'bytes',
        ETag: `"${oid}"`,
        'Cache-Control': 'private, max-age=0',
        'Content-Length': String(size === 0 ? 0 : end - start + 1),
      })
      if (range.kind === 'partial') reply.code(206).header('Content-Range', `bytes ${start}-${end}/${size}`)
      return reply.send(body ?? Buffer.alloc(0))
    },
  })
}
