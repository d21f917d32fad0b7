import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { HubError } from '../../errors.js'
import { queryList } from '../../protocol/query.js'
import { typeFromSegment } from '../../protocol/repo-id.js'
import { RepoInfoSchema, repoInfoJson } from '../../schemas/repo-info.js'
import { cachedJson } from '../../cache/cached-json.js'
import { nextLink } from '../../protocol/link-header.js'
import { sendCachedJson } from '../../cache/send-json.js'
import { checkCaller } from '../../auth/access.js'

const Params = Type.Object({ types: Type.String() })

function one(v: unknown): string | null {
  if (Array.isArray(v)) v = v[v.length - 1]
  return typeof v === 'string' ? v : null
}

/**
 * GET /api/{models,datasets,spaces} (docs/hub-api.md §10): search, author, filter (tags), sort, direction,
 * limit and cursor pagination through an absolute `Link`. Served from the SQLite index only.
 */
export function listReposRoute(app: FastifyInstance, ctx: Context) {
  /**
   * Serialized pages (and their next cursor) keyed by the database version, the viewer and the
   * query as sent: a search scans every repo's id in SQL (milliseconds with 10,000 repos), while
   * between two writes the answer cannot change.
   */
  const pages = cachedJson<string | null>(16 * 1024 * 1024)
  app.get<{ Params: { types: string }; Querystring: Record<string, unknown> }>(
    '/api/:types',
    { schema: { params: Params, response: { 200: Type.Array(RepoInfoSchema) } } },
    async (request, reply) => {
      const q = request.query
      const type = typeFromSegment(request.params.types)
      if (!type) throw new HubError(404, `Not found: GET /api/${request.params.types}`)
      // Before the cache: a bad token (or none, with anonymous reads off) must never get a page
      // cached for anonymous callers.
      checkCaller(request.actor)
      const viewer = `${request.actor.user?.id ?? ''}:${request.actor.token?.id ?? ''}`
      const key = [ctx.listing.version(), viewer, request.url]
      let hit = pages.get(key)
      if (!hit) {
        const { rows, next } = ctx.listing.page(type, request.actor, {
          search: queryList(q, 'search'),
          author: one(q.author),
          filter: queryList(q, 'filter'),
          sort: one(q.sort),
          direction: one(q.direction),
          limit: one(q.limit),
          cursor: one(q.cursor),
        })
        const tags = ctx.listing.tagsOf(rows.map((r) => r.id))
        const wire = rows.map((r) =>
          repoInfoJson(r, {
            sha: r.sha,
            lastModified: r.last_modified,
            tags: tags.get(r.id) ?? [],
            cardData: r.card_data ? (JSON.parse(r.card_data) as Record<string, unknown>) : null,
            pipelineTag: r.pipeline_tag,
            libraryName: r.library_name,
            usedStorage: r.used_storage,
          }),
        )
        hit = pages.set(key, Buffer.from(reply.serialize(wire) as string), next)
      }
      if (hit.meta) reply.header('Link', nextLink(ctx.publicUrl(), request.url, 'cursor', hit.meta))
      return sendCachedJson(request, reply, hit)
    },
  )
}
