import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { queryBool } from '../../protocol/query.js'
import { TreeEntrySchema, toWireEntry } from '../../schemas/tree-entry.js'
import { Type } from '@sinclair/typebox'
import { decodeCursor, encodeCursor } from '../../protocol/cursor.js'
import { ApiRepoParams, apiRepoId, urlTarget } from '../repo-params.js'
import { cachedJson } from '../../cache/cached-json.js'
import { nextLink } from '../../protocol/link-header.js'
import { sendCachedJson } from '../../cache/send-json.js'

const PAGE = 1000
const PAGE_EXPANDED = 50

/**
 * GET /api/{types}/{repo}/tree/{rev}[/{path}] (docs/hub-api.md §4.1), paginated with an absolute `Link`
 * that keeps the query as received. The cursor names the last path of the previous page.
 */
export function treeRoute(app: FastifyInstance, ctx: Context) {
  const xetHashOf = (oid: string) => (ctx.config.xet ? ctx.xet.fileOf(oid)?.fileHash : undefined)
  const pages = cachedJson<string | null>(32 * 1024 * 1024)
  app.get<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/tree/*',
    { schema: { params: ApiRepoParams, response: { 200: Type.Array(TreeEntrySchema) } }, config: { repo: { id: apiRepoId, action: 'read' } } },
    async (request, reply) => {
      const repo = request.repo
      const { commit, path } = await urlTarget(ctx, repo, request.url, 5)
      const cleanPath = path.replace(/\/+$/, '')
      const recursive = queryBool(request.query.recursive)
      const expand = queryBool(request.query.expand)
      const cursor = typeof request.query.cursor === 'string' ? request.query.cursor : null
      // A page is a function of the commit and the query: serialized once, then served as bytes.
      const key = [repo.id, commit, cleanPath, recursive ? 1 : 0, expand ? 1 : 0, cursor ?? '']
      let hit = pages.get(key)
      if (!hit) {
        const entries = await ctx.content.list(repo, commit, cleanPath, recursive)
        if (!entries) throw errors.entryNotFound(commit, `Entry not found: ${cleanPath}`)
        const limit = expand ? PAGE_EXPANDED : PAGE
        let start = 0
        if (cursor !== null) {
          const after = decodeCursor(cursor)
          if (after === null) throw errors.badRequest('Invalid cursor')
          start = lowerBound(entries, after)
        }
        const page = entries.slice(start, start + limit)
        const next = start + limit < entries.length ? encodeCursor(page[page.length - 1]!.path) : null
        hit = pages.set(key, Buffer.from(reply.serialize(page.map((e) => toWireEntry(e, xetHashOf))) as string), next)
      }
      if (hit.meta !== null) {
        reply.header('Link', nextLink(ctx.publicUrl(), request.url, 'cursor', hit.meta))
      }
      return sendCachedJson(request, reply, hit)
    },
  )
}

/** Index of the first entry whose path sorts after `after` (byte-wise, as the listing is sorted). */
function lowerBound(entries: { path: string }[], after: string): number {
  const key = Buffer.from(after)
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (Buffer.compare(Buffer.from(entries[mid]!.path), key) <= 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
