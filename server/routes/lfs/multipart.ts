import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { passThroughBodies } from './upload.js'

const Signed = Type.Object({ exp: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) }, { additionalProperties: true })
const PartParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }), part: Type.String({ pattern: '^\\d{1,6}$' }) })
const CompleteParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) })
const CompleteBody = Type.Object(
  {
    oid: Type.Optional(Type.String()),
    parts: Type.Optional(Type.Array(Type.Object({ partNumber: Type.Integer(), etag: Type.String() }, { additionalProperties: true }))),
  },
  { additionalProperties: true },
)

/**
 * The HF multipart transfer (docs/hub-api.md §5.8): PUT …/multipart/{id}/part/{n} writes one part in place
 * (idempotent, any order, answered with an ETag); POST …/multipart/{id}/complete verifies the
 * whole object and publishes it. The signed URLs are the only credential.
 */
export function lfsMultipartRoute(app: FastifyInstance, ctx: Context) {
  app.register(async (parts) => {
    passThroughBodies(parts)
    parts.put<{ Params: Static<typeof PartParams>; Querystring: Static<typeof Signed> }>(
      '/api/lfs/multipart/:id/part/:part',
      { schema: { params: PartParams, querystring: Signed }, config: { lfsErrors: true } },
      async (request, reply) => {
        const part = Number(request.params.part)
        ctx.lfs.checkSignature(['part', request.params.id, part], request.query)
        const etag = await ctx.lfs.uploadPart(request.params.id, part, request.raw)
        return reply.code(200).header('ETag', etag).send({})
      },
    )
  })
  app.post<{ Params: Static<typeof CompleteParams>; Querystring: Static<typeof Signed>; Body: Static<typeof CompleteBody> }>(
    '/api/lfs/multipart/:id/complete',
    { schema: { params: CompleteParams, querystring: Signed, body: CompleteBody }, config: { lfsErrors: true } },
    async (request) => {
      ctx.lfs.checkSignature(['complete', request.params.id], request.query)
      await ctx.lfs.completeMultipart(request.params.id, request.body)
      return {}
    },
  )
}
