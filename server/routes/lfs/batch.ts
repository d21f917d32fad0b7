import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RepoAction } from '../../auth/access.js'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { FILE_PREFIXES, FileRepoParams, gitRepoId } from '../repo-params.js'

const Body = Type.Object(
  {
    operation: Type.String(),
    transfers: Type.Optional(Type.Array(Type.String())),
    objects: Type.Array(Type.Object({ oid: Type.String(), size: Type.Integer({ minimum: 0 }) }, { additionalProperties: true }), {
      maxItems: 1000,
    }),
    hash_algo: Type.Optional(Type.String()),
    ref: Type.Optional(Type.Union([Type.Object({ name: Type.String() }, { additionalProperties: true }), Type.Null()])),
  },
  { additionalProperties: true },
)

/** What a batch request needs, once its hash and operation are known to be served (422 before any access check). */
function batchAction(request: FastifyRequest): RepoAction {
  const b = request.body as Static<typeof Body>
  if (b.hash_algo !== undefined && b.hash_algo !== 'sha256' && b.hash_algo !== 'sha_256') {
    throw errors.unprocessable(`Unsupported hash_algo ${b.hash_algo}`)
  }
  if (b.operation !== 'upload' && b.operation !== 'download') {
    throw errors.unprocessable(`Unsupported operation "${b.operation}" (use upload or download)`)
  }
  // Uploads need only contribute: a PR from a reader uploads its LFS files first.
  return b.operation === 'upload' ? 'contribute' : 'read'
}

/**
 * POST /{prefix}{repo}.git/info/lfs/objects/batch (docs/hub-api.md §5.6): `upload` (basic or HF multipart)
 * and `download` (basic, for git-lfs); `transfer: xet` when the client offers it and HUBD_XET is on.
 */
export function lfsBatchRoute(app: FastifyInstance, ctx: Context) {
  for (const { prefix, type } of FILE_PREFIXES) {
    app.post<{ Params: FileRepoParams; Body: Static<typeof Body> }>(
      `${prefix}/:ns/:name/info/lfs/objects/batch`,
      {
        schema: { params: FileRepoParams, body: Body },
        // git-lfs sends its token only after a 401 that asks for one.
        config: { lfsErrors: true, repo: { id: gitRepoId(type), action: batchAction, challenge: true } },
      },
      async (request, reply) => {
        const b = request.body
        const repo = request.repo
        // Xet when offered and enabled (docs/xet-protocol.md §1.2): the client uploads to the CAS instead.
        const xet = b.operation === 'upload' && ctx.config.xet && (b.transfers ?? []).includes('xet')
        const answer = xet
          ? ctx.xet.batchUpload(repo, b.objects, b.ref?.name ?? repo.default_branch, request.actor.user?.name ?? null, request.actor.user?.is_admin === 1)
          : b.operation === 'upload'
            ? await ctx.lfs.batchUpload(repo, b.objects, b.transfers ?? ['basic'], request.actor.user?.is_admin === 1)
            : await ctx.lfs.batchDownload(repo, b.objects)
        reply.type('application/vnd.git-lfs+json')
        return answer
      },
    )
  }
}
