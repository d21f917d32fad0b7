import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { queryBool } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepo, decoding, rawTail } from '../repo-params.js'

const Sibling = Type.Object({
  rfilename: Type.String(),
  size: Type.Optional(Type.Number()),
  blobId: Type.Optional(Type.String()),
  lfs: Type.Optional(Type.Object({ size: Type.Number(), sha256: Type.String(), pointerSize: Type.Number() })),
})

const RepoInfo = Type.Object({
  _id: Type.String(),
  id: Type.String(),
  modelId: Type.Optional(Type.String()),
  author: Type.String(),
  sha: Type.String(),
  lastModified: Type.String(),
  createdAt: Type.String(),
  private: Type.Boolean(),
  gated: Type.Literal(false),
  disabled: Type.Boolean(),
  downloads: Type.Number(),
  likes: Type.Number(),
  tags: Type.Array(Type.String()),
  sdk: Type.Optional(Type.String()),
  siblings: Type.Array(Sibling),
  usedStorage: Type.Number(),
})

/**
 * GET /api/{types}/{repo} and …/revision/{rev} (spec 3.5). `siblings` is always complete (py0
 * builds snapshot_download from it). `expand` is ignored: the full object is a compatible superset.
 */
export function repoInfoRoute(app: FastifyInstance, ctx: Context) {
  const handler = async (request: FastifyRequest<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>) => {
    const repo = apiRepo(ctx, request, request.params, 'read')
    const rev = request.params['*'] === undefined ? '' : await decoding(() => revisionFrom(rawTail(request, 5)))
    const { commit } = await ctx.content.resolve(repo, rev)
    const info = await ctx.content.commit(repo, commit)
    const files = await ctx.content.files(repo, commit)
    const blobs = queryBool(request.query.blobs)
    const id = `${repo.namespace}/${repo.name}`
    return {
      _id: repo.id,
      id,
      ...(repo.type === 'model' ? { modelId: id } : {}),
      author: repo.namespace,
      sha: commit,
      lastModified: new Date(info.committer.timestamp * 1000).toISOString(),
      createdAt: repo.created_at,
      private: repo.private === 1,
      gated: false as const,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      ...(repo.sdk ? { sdk: repo.sdk } : {}),
      siblings: files.map((f) =>
        blobs
          ? {
              rfilename: f.path,
              size: f.size,
              blobId: f.oid,
              ...(f.lfs ? { lfs: { size: f.lfs.size, sha256: f.lfs.oid, pointerSize: f.lfs.pointerSize } } : {}),
            }
          : { rfilename: f.path },
      ),
      usedStorage: files.reduce((n, f) => n + f.size, 0),
    }
  }
  const schema = { params: ApiRepoParams, response: { 200: RepoInfo } }
  app.get('/api/:types/:ns/:name', { schema }, handler)
  app.get('/api/:types/:ns/:name/revision/*', { schema }, handler)
}
