import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { queryBool } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { RepoInfoSchema, repoInfoJson } from '../../schemas/repo-info.js'
import { ApiRepoParams, apiRepo, decoding, rawTail } from '../repo-params.js'
import { JSON_TYPE, ResponseCache } from '../../services/response-cache.js'

const SIBLINGS = Buffer.from(',"siblings":')
const CLOSE = Buffer.from('}')

/**
 * GET /api/{types}/{repo} and …/revision/{rev} (spec 3.5). `siblings` is always complete (py0
 * builds snapshot_download from it); card facts are those of the requested commit. `expand` is
 * ignored: the full object is a compatible superset.
 */
export function repoInfoRoute(app: FastifyInstance, ctx: Context) {
  /**
   * `siblings`, serialized, per commit: with 10,000 files it is most of the answer and most of
   * its cost. The rest (downloads, likes, visibility… change without a commit) is built each time.
   */
  const siblingsCache = new ResponseCache(64 * 1024 * 1024)
  const handler = async (
    request: FastifyRequest<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>,
    reply: FastifyReply,
  ) => {
    // Re-index on the way if the default branch moved behind our back (a push, another process).
    const repo = await ctx.indexer.refresh(apiRepo(ctx, request, request.params, 'read'))
    const rev = request.params['*'] === undefined ? '' : await decoding(() => revisionFrom(rawTail(request, 5)))
    const { commit } = await ctx.content.resolve(repo, rev)
    const [info, card] = await Promise.all([ctx.content.commit(repo, commit), ctx.indexer.describe(repo, commit)])
    const lastModified = new Date(info.committer.timestamp * 1000).toISOString()
    const facts = { ...card, sha: commit, lastModified }
    const blobs = queryBool(request.query.blobs)
    const key = `${repo.id}\0${commit}\0${blobs ? 1 : 0}`
    let siblings = siblingsCache.get(key)?.body
    if (!siblings) {
      const files = await ctx.content.files(repo, commit)
      siblings = Buffer.from(JSON.stringify(repoInfoJson(repo, facts, { files, blobs }).siblings))
      siblingsCache.set(key, siblings, null)
    }
    // The schema's serializer writes the rest (no siblings): `{…}`; siblings go in before its `}`.
    const rest = reply.serialize(repoInfoJson(repo, facts)) as string
    return reply.type(JSON_TYPE).send(Buffer.concat([Buffer.from(rest.slice(0, -1)), SIBLINGS, siblings, CLOSE]))
  }
  const schema = { params: ApiRepoParams, response: { 200: RepoInfoSchema } }
  app.get('/api/:types/:ns/:name', { schema }, handler)
  app.get('/api/:types/:ns/:name/revision/*', { schema }, handler)
}
