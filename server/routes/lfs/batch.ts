import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { FILE_PREFIXES, FileRepoParams } from '../repo-params.js'

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

/** The repo name in LFS URLs carries git's `.git` suffix; accept it with or without. */
export function stripGit(name: string): string {
  return name.endsWith('.git') ? name.slice(0, -4) : name
}

/**
 * POST /{prefix}{repo}.git/info/lfs/objects/batch (spec 5.6). Never answers `transfer: xet`.
 * @TODO: the `download` operation for git-lfs (issue 4).
 */
export function lfsBatchRoute(app: FastifyInstance, ctx: Context) {
  for (const { prefix, type } of FILE_PREFIXES) {
    app.post<{ Params: FileRepoParams; Body: Static<typeof Body> }>(
      `${prefix}/:ns/:name/info/lfs/objects/batch`,
      { schema: { params: FileRepoParams, body: Body }, config: { lfsErrors: true } },
      async (request, reply) => {
        const b = request.body
        if (b.hash_algo !== undefined && b.hash_algo !== 'sha256' && b.hash_algo !== 'sha_256') {
          throw errors.unprocessable(`Unsupported hash_algo ${b.hash_algo}`)
        }
        if (b.operation !== 'upload') {
          throw errors.unprocessable(`Unsupported operation "${b.operation}" (this server accepts uploads)`)
        }
        const repo = ctx.repos.get(type, request.params.ns, stripGit(request.params.name), request.actor, 'write')
        const answer = await ctx.lfs.batchUpload(repo, b.objects, b.transfers ?? ['basic'], request.actor.user?.is_admin === 1)
        reply.type('application/vnd.git-lfs+json')
        return answer
      },
    )
  }
}
