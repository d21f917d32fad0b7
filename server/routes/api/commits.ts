import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { queryList } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { escapeHtml } from '../../protocol/html.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'
import { cachedJson } from '../../cache/cached-json.js'
import type { CachedBody } from '../../cache/response-cache.js'
import { nextLink } from '../../protocol/link-header.js'
import { sendCachedJson } from '../../cache/send-json.js'

/** One page as sent: the cached body, X-Total-Count and the next page's Link (or none). */
interface CommitsAnswer {
  entry: CachedBody<number>
  total: string
  link: string | null
}

const Commit = Type.Object({
  id: Type.String(),
  title: Type.String(),
  message: Type.String(),
  authors: Type.Array(Type.Object({ user: Type.String(), avatar: Type.String() })),
  date: Type.String(),
  formatted: Type.Optional(Type.Object({ title: Type.String(), message: Type.String() })),
})

/**
 * GET /api/{types}/{repo}/commits/{rev} (docs/hub-api.md §8.4): newest first along first parents, pages of
 * `limit` (default 50, at most 1000) linked with `p`, and `X-Total-Count`.
 */
export function commitsRoute(app: FastifyInstance, ctx: Context) {
  /** Serialized pages with their X-Total-Count: functions of the commit and the query. */
  const pages = cachedJson<number>(16 * 1024 * 1024)
  app.get<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/commits/*',
    { schema: { params: ApiRepoParams, response: { 200: Type.Array(Commit) } }, config: { repo: { id: apiRepoId, action: 'read' } } },
    async (request, reply) => {
      const repo = request.repo
      const refs = ctx.content.refs(repo)
      // The answer to a URL holds as long as this view of the refs (ContentService.remember).
      const memoKey = `commits:${request.url}`
      const known = ctx.content.remembered<CommitsAnswer>(refs, memoKey)
      if (known) return sendCommits(known)
      // js sends the revision raw (docs/hub-api.md §1.4): all remaining segments form it.
      const rev = await decoding(() => revisionFrom(rawTail(request, 5)))
      const { commit } = await ctx.content.resolve(repo, rev, refs)
      const num = (v: unknown, fallback: number, max: number) => {
        if (v === undefined) return fallback
        if (typeof v !== 'string' || !/^\d{1,9}$/.test(v)) throw errors.badRequest('limit and p must be non-negative integers')
        return Math.min(Number(v), max)
      }
      const limit = Math.max(1, num(request.query.limit, 50, 1000))
      const page = num(request.query.p, 0, 1e9)
      const formatted = queryList(request.query, 'expand').includes('formatted')
      const key = [repo.id, commit, page, limit, formatted ? 1 : 0, ctx.publicUrl()]
      let hit = pages.get(key)
      if (!hit) {
        const total = await ctx.history.count(repo, commit)
        const commits = page * limit < total ? await ctx.history.page(repo, commit, page * limit, limit) : []
        const wire = commits.map((c) => {
          const nl = c.message.indexOf('\n')
          const title = nl < 0 ? c.message : c.message.slice(0, nl)
          const message = nl < 0 ? '' : c.message.slice(nl + 1)
          return {
            id: c.oid,
            title,
            message,
            authors: [{ user: c.author.name, avatar: `${ctx.publicUrl()}/avatars/${encodeURIComponent(c.author.name)}.svg` }],
            date: new Date(c.committer.timestamp * 1000).toISOString(),
            ...(formatted ? { formatted: { title: escapeHtml(title), message: escapeHtml(message) } } : {}),
          }
        })
        hit = pages.set(key, Buffer.from(reply.serialize(wire) as string), total)
      }
      const link = (page + 1) * limit < hit.meta ? nextLink(ctx.publicUrl(), request.url, 'p', String(page + 1)) : null
      return sendCommits(ctx.content.remember<CommitsAnswer>(refs, memoKey, { entry: hit, total: String(hit.meta), link }))

      function sendCommits(answer: CommitsAnswer) {
        reply.header('X-Total-Count', answer.total)
        if (answer.link !== null) reply.header('Link', answer.link)
        return sendCachedJson(request, reply, answer.entry)
      }
    },
  )
}
