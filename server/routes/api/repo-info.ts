import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { queryBool } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { RepoInfoSchema, repoInfoJson } from '../../schemas/repo-info.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'
import { cachedJson } from '../../cache/cached-json.js'
import type { CachedBody } from '../../cache/response-cache.js'
import type { RepoRow } from '../../../storage/db/repos-table.js'
import { sendCachedJson } from '../../cache/send-json.js'

const SIBLINGS = Buffer.from(',"siblings":')
const CLOSE = Buffer.from('}')

/** A whole answer, remembered with the view of the refs and the row it was built from. */
interface InfoAnswer {
  row: RepoRow
  entry: CachedBody<string>
}

/**
 * GET /api/{types}/{repo} and …/revision/{rev} (docs/hub-api.md §3.5). `siblings` is always complete (py0
 * builds snapshot_download from it); card facts are those of the requested commit. `expand` is
 * ignored: the full object is a compatible superset.
 */
export function repoInfoRoute(app: FastifyInstance, ctx: Context) {
  /**
   * Whole answers per commit, with the part built outside `siblings` as their meta: with 10,000
   * files, siblings are most of the bytes and most of the cost. The rest (downloads, likes,
   * visibility… change without a commit) is serialized every time; when it changed, the cached
   * siblings are spliced into a new answer.
   */
  const answers = cachedJson<string>(64 * 1024 * 1024)
  const handler = async (
    request: FastifyRequest<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>,
    reply: FastifyReply,
  ) => {
    // Re-index on the way if the default branch moved behind our back (a push, another process).
    const found = request.repo
    const refs = ctx.content.refs(found) // read once for re-indexing and resolving
    // While neither the row (downloads, likes, visibility…: a new object per database version)
    // nor the view of the refs changed, the same URL gets the same answer.
    const memoKey = `info:${request.url}`
    const known = ctx.content.remembered<InfoAnswer>(refs, memoKey)
    if (known?.row === found) return sendCachedJson(request, reply, known.entry)
    const answer = (entry: CachedBody<string>) =>
      sendCachedJson(request, reply, ctx.content.remember<InfoAnswer>(refs, memoKey, { row: found, entry }).entry)
    const repo = await ctx.indexer.refresh(found, refs)
    const rev = request.params['*'] === undefined ? '' : await decoding(() => revisionFrom(rawTail(request, 5)))
    const { commit } = await ctx.content.resolve(repo, rev, refs)
    const [info, card] = await Promise.all([ctx.content.commit(repo, commit), ctx.indexer.describe(repo, commit)])
    const lastModified = new Date(info.committer.timestamp * 1000).toISOString()
    const facts = { ...card, sha: commit, lastModified }
    const blobs = queryBool(request.query.blobs)
    // The schema's serializer writes the rest (no siblings): `{…}`; siblings go in before its `}`.
    const rest = (reply.serialize(repoInfoJson(repo, facts)) as string).slice(0, -1)
    const key = [repo.id, commit, blobs ? 1 : 0]
    const hit = answers.get(key)
    if (hit?.meta === rest) return answer(hit)
    let siblings: Buffer
    if (hit) siblings = hit.body.subarray(Buffer.byteLength(hit.meta) + SIBLINGS.length, -CLOSE.length)
    else {
      const files = await ctx.content.files(repo, commit)
      siblings = Buffer.from(JSON.stringify(repoInfoJson(repo, facts, { files, blobs }).siblings))
    }
    const body = Buffer.concat([Buffer.from(rest), SIBLINGS, siblings, CLOSE])
    return answer(answers.set(key, body, rest))
  }
  const options = {
    schema: { params: ApiRepoParams, response: { 200: RepoInfoSchema } },
    config: { repo: { id: apiRepoId, action: 'read' as const } },
  }
  app.get('/api/:types/:ns/:name', options, handler)
  app.get('/api/:types/:ns/:name/revision/*', options, handler)
}
