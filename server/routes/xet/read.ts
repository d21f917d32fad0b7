import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'

const HashParams = Type.Object({ prefix: Type.String(), hash: Type.String() })
const FileParams = Type.Object({ version: Type.Union([Type.Literal('v1'), Type.Literal('v2')]), fileId: Type.String() })
const RangeQuery = Type.Object(
  { r: Type.Optional(Type.String()), exp: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/**
 * The CAS read endpoints (docs/xet-protocol.md §2.4–2.6): global dedup, reconstruction v1 and v2 with a
 * read token, and the presigned xorb byte ranges those answers point at (no token).
 */
export function xetReadRoutes(app: FastifyInstance, ctx: Context) {
  app.get<{ Params: Static<typeof HashParams> }>('/cas/v1/chunks/:prefix/:hash', { schema: { params: HashParams } }, async (request, reply) => {
    ctx.xet.grant(request.headers.authorization, 'read')
    const shard = ctx.xet.reads.dedup(request.params.hash)
    if (!shard) return reply.code(404).send({ error: 'Chunk not tracked' })
    return reply.type('application/octet-stream').send(shard)
  })

  app.get<{ Params: Static<typeof FileParams> }>('/cas/:version/reconstructions/:fileId', { schema: { params: FileParams } }, async (request) => {
    const grant = ctx.xet.grant(request.headers.authorization, 'read')
    return ctx.xet.reads.reconstruction(grant, request.params.fileId, request.headers.range, request.params.version === 'v1' ? 1 : 2)
  })

  app.get<{ Params: Static<typeof HashParams>; Querystring: Static<typeof RangeQuery> }>(
    '/cas/v1/xorb-data/:prefix/:hash',
    { schema: { params: HashParams, querystring: RangeQuery } },
    async (request, reply) => {
      const r = await ctx.xet.reads.openXorbRange(request.params.hash, request.query, request.headers.range)
      reply.headers({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(r.end - r.start + 1), 'Accept-Ranges': 'bytes' })
      if (r.partial) reply.code(206).header('Content-Range', `bytes ${r.start}-${r.end}/${r.total}`)
      return reply.send(r.stream)
    },
  )
}
