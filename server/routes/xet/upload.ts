import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { MAX_SHARD_BODY } from '../../services/xet/uploads.js'
import { passThroughBodies } from '../lfs/upload.js'

const XorbParams = Type.Object({ prefix: Type.String(), hash: Type.String() })

/** Reads a request body whole, refusing more than `limit` bytes (shards are small; xorbs stream). */
async function bodyOf(request: FastifyRequest, limit: number): Promise<Buffer> {
  const declared = request.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) throw errors.badRequest(`Shard body exceeds the limit of ${limit} bytes`)
  const parts: Buffer[] = []
  let n = 0
  for await (const c of request.raw) {
    n += (c as Buffer).length
    if (n > limit) {
      request.raw.resume()
      throw errors.badRequest(`Shard body exceeds the limit of ${limit} bytes`)
    }
    parts.push(c as Buffer)
  }
  return Buffer.concat(parts)
}

/**
 * The CAS write endpoints under `{casUrl}` (docs/xet-protocol.md §2.2, §2.3): xorb and shard uploads
 * with a write token; `/v2/shards` answers 404 so hf_xet ≥ 1.6 falls back to `/v1/shards`.
 * Bodies come without a content type and are read by the routes themselves.
 */
export function xetUploadRoutes(app: FastifyInstance, ctx: Context) {
  passThroughBodies(app)
  app.post<{ Params: Static<typeof XorbParams> }>('/cas/v1/xorbs/:prefix/:hash', { schema: { params: XorbParams } }, async (request) => {
    ctx.xet.grant(request.headers.authorization, 'write')
    const declared = request.headers['content-length']
    const { wasInserted } = await ctx.xet.uploads.uploadXorb(request.params.hash, declared === undefined ? null : Number(declared), request.raw)
    return { was_inserted: wasInserted }
  })

  app.post('/cas/v1/shards', async (request) => {
    const grant = ctx.xet.grant(request.headers.authorization, 'write')
    if (!ctx.repos.byId(grant.repoId)) throw errors.repoNotFound()
    const body = await bodyOf(request, MAX_SHARD_BODY)
    return { result: await ctx.xet.uploads.uploadShard(grant.repoId, body) }
  })

  app.post('/cas/v2/shards', async (request) => {
    request.raw.resume()
    throw errors.notFound('Use /v1/shards')
  })

  app.post('/cas/v1/telemetry', async (request) => {
    request.raw.resume()
    return {}
  })
}
