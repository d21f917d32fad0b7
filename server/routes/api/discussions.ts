import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { errors } from '../../errors.js'
import { ApiRepoParams, apiRepo, optionalBody } from '../repo-params.js'

const NumParams = Type.Intersect([ApiRepoParams, Type.Object({ num: Type.String({ pattern: '^\\d{1,9}$' }) })])
type NumParams = Static<typeof NumParams>
const Create = Type.Object(
  { title: Type.String({ minLength: 1 }), description: Type.Optional(Type.String()), pullRequest: Type.Optional(Type.Boolean()) },
  { additionalProperties: true },
)
const Comment = Type.Object({ comment: Type.String({ minLength: 1 }) }, { additionalProperties: true })
const Status = Type.Object(
  { status: Type.Union([Type.Literal('open'), Type.Literal('closed')]), comment: Type.Optional(Type.String()) },
  { additionalProperties: true },
)

const Merge = Type.Object({ comment: Type.Optional(Type.String()) }, { additionalProperties: true })

const PAGE = 50

function event(e: { id: string; type: string; author: string; data: string; created_at: string }) {
  return { id: e.id, type: e.type, createdAt: e.created_at, author: { name: e.author }, data: JSON.parse(e.data) as unknown }
}

/**
 * The minimal discussions API the clients use for pull requests (spec 8.6): create, list, read,
 * comment, change status (close/reopen) and merge. PRs opened here start at the default branch's head.
 */
export function discussionsRoute(app: FastifyInstance, ctx: Context) {
  const repoOf = (request: FastifyRequest<{ Params: ApiRepoParams }>, action: 'read' | 'write') =>
    apiRepo(ctx, request, request.params, action)

  app.post<{ Params: ApiRepoParams; Body: Static<typeof Create> }>(
    '/api/:types/:ns/:name/discussions',
    { schema: { params: ApiRepoParams, body: Create } },
    async (request) => {
      // @TODO: read-only users may open PRs on the Hub; here it takes write access (issue 5).
      const repo = repoOf(request, 'write')
      const user = requireUser(request.actor)
      const { title, description = '', pullRequest = false } = request.body
      let num: number
      if (pullRequest) {
        const head = await ctx.content.git(repo).readRef(`refs/heads/${repo.default_branch}`)
        if (!head) throw errors.revisionNotFound(repo.default_branch)
        num = await ctx.prs.open(repo, repo.default_branch, head, title, description, user.name, { empty: true })
      } else num = await ctx.prs.openDiscussion(repo, title, description, user.name)
      return { num, url: `${ctx.repos.url(repo)}/discussions/${num}` }
    },
  )

  app.get<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/discussions',
    { schema: { params: ApiRepoParams } },
    async (request) => {
      const repo = repoOf(request, 'read')
      const p = typeof request.query.p === 'string' && /^\d{1,6}$/.test(request.query.p) ? Number(request.query.p) : 0
      const q = request.query
      const type = q.type === 'pull_request' ? 1 : q.type === 'discussion' ? 0 : null
      const status = q.status === 'open' || q.status === 'closed' ? q.status : null
      const author = typeof q.author === 'string' && q.author !== '' ? q.author : null
      const { rows, total } = ctx.prs.list(repo, { isPr: type, status, author }, PAGE, p * PAGE)
      return { discussions: rows.map((d) => ctx.prs.summary(repo, d)), count: total, start: p * PAGE, numClosedDiscussions: 0 }
    },
  )

  app.get<{ Params: NumParams }>('/api/:types/:ns/:name/discussions/:num', { schema: { params: NumParams } }, async (request) => {
    const repo = repoOf(request, 'read')
    return ctx.prs.details(repo, ctx.prs.get(repo, Number(request.params.num)))
  })

  app.post<{ Params: NumParams; Body: Static<typeof Comment> }>(
    '/api/:types/:ns/:name/discussions/:num/comment',
    { schema: { params: NumParams, body: Comment } },
    async (request) => {
      const repo = repoOf(request, 'write')
      const e = ctx.prs.comment(repo, Number(request.params.num), request.body.comment, requireUser(request.actor).name)
      return { newMessage: event(e) }
    },
  )

  app.post<{ Params: NumParams; Body: Static<typeof Status> }>(
    '/api/:types/:ns/:name/discussions/:num/status',
    { schema: { params: NumParams, body: Status } },
    async (request) => {
      const repo = repoOf(request, 'write')
      const e = ctx.prs.setStatus(repo, Number(request.params.num), request.body.status, requireUser(request.actor).name, request.body.comment ?? null)
      return { newStatus: event(e) }
    },
  )

  // py sends no body at all unless there is a comment.
  app.post<{ Params: NumParams; Body: Static<typeof Merge> }>(
    '/api/:types/:ns/:name/discussions/:num/merge',
    { schema: { params: NumParams, body: Merge }, preValidation: optionalBody },
    async (request) => {
      const repo = repoOf(request, 'write')
      const text = request.body.comment ?? null
      const oid = await ctx.prs.merge(repo, Number(request.params.num), requireUser(request.actor).name, text)
      return { mergeCommitId: oid }
    },
  )
}
