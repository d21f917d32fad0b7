import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'

const Params = Type.Object({ oid: Type.String({ pattern: '^[0-9a-f]{64}$' }) })
const Query = Type.Object(
  { repo: Type.String(), size: Type.String({ pattern: '^\\d{1,16}$' }), exp: Type.Optional(Type.String()), sig: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

/** Raw uploads skip body parsing: whatever the content type, the route streams the request itself. */
export function passThroughBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined))
}

/**
 * PUT /api/lfs/upload/{oid}?repo&size&exp&sig — the basic transfer (docs/hub-api.md §5.7). The signed URL is
 * the only credential; the bytes are hashed while written and published only if they match.
 * Re-uploading an existing object succeeds (py retries whole PUTs).
 */
export function lfsUploadRoute(app: FastifyInstance, ctx: Context) {
  passThroughBodies(app)
  app.put<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/api/lfs/upload/:oid',
    { schema: { params: Params, querystring: Query }, config: { lfsErrors: true } },
    async (request, reply) => {
      const { oid } = request.params
      const size = Number(request.query.size)
      ctx.lfs.checkSignature(['upload', request.query.repo, oid, size], request.query)
      const repo = ctx.repos.byId(request.query.repo)
      if (!repo) throw errors.repoNotFound()
      const declared = request.headers['content-length']
      if (declared !== undefined && Number(declared) !== size) {
        throw errors.badRequest(`Content-Length ${declared} does not match the object size ${size}`)
      }
      await ctx.lfs.upload(repo, oid, size, request.raw)
      return reply.code(200).send({})
    },
  )
}
