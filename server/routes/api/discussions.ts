import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { authorize, requireUser, type RepoAction } from '../../auth/access.js'
import { errors } from '../../errors.js'
import { eventJson } from '../../protocol/discussion-json.js'
import { ApiRepoParams, apiRepoId, optionalBody } from '../repo-params.js'

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


/**
 * The minimal discussions API the clients use for pull requests (docs/hub-api.md §8.6): create, list, read,
 * comment, change status (close/reopen) and merge. PRs opened here start at the default branch's head.
 */
export function discussionsRoute(app: FastifyInstance, ctx: Context) {
  const needs = (action: RepoAction) => ({ repo: { id: apiRepoId, action } })

  app.post<{ Params: ApiRepoParams; Body: Static<typeof Create> }>(
    '/api/:types/:ns/:name/discussions',
    // Anyone who can read the repo may open a PR or discussion, as on the Hub.
    { schema: { params: ApiRepoParams, body: Create }, config: needs('contribute') },
    async (request) => {
      const repo = request.repo
      const user = requireUser(request.actor)
      const { title, description = '', pullRequest = false } = request.body
      let num: number
      if (pullRequest) {
        const head = await ctx.content.git(repo).readRef(`refs/heads/${repo.default_branch}`)
        if (!head) throw errors.revisionNotFound(repo.default_branch)
        num = await ctx.pullRequests.open(repo, repo.default_branch, head, title, description, user.name, { empty: true })
      } else num = await ctx.discussions.open(repo, title, description, user.name)
      return { num, url: `${ctx.repos.url(repo)}/discussions/${num}` }
    },
  )

  app.get<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/discussions',
    { schema: { params: ApiRepoParams }, config: needs('read') },
    async (request) => {
      const repo = request.repo
      const p = typeof request.query.p === 'string' && /^\d{1,6}$/.test(request.query.p) ? Number(request.query.p) : 0
      const q = request.query
      const type = q.type === 'pull_request' ? 1 : q.type === 'discussion' ? 0 : null
      const status = q.status === 'open' || q.status === 'closed' ? q.status : null
      const author = typeof q.author === 'string' && q.author !== '' ? q.author : null
      const { rows, total } = ctx.discussions.list(repo, { isPr: type, status, author }, PAGE, p * PAGE)
      return { discussions: rows.map((d) => ctx.discussions.summary(repo, d)), count: total, start: p * PAGE, numClosedDiscussions: 0 }
    },
  )

  // py always asks with `diff=1` and reads `diff` (the PR's changes as a git diff).
  app.get<{ Params: NumParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/discussions/:num',
    { schema: { params: NumParams }, config: needs('read') },
    async (request) => {
      const repo = request.repo
      const d = ctx.discussions.get(repo, Number(request.params.num))
      const details = ctx.discussions.details(repo, d)
      if (request.query.diff !== '1' || !d.is_pr) return details
      return { ...details, diff: await ctx.pullRequests.diff(repo, d, d.target_branch ?? `refs/heads/${repo.default_branch}`) }
    },
  )

  app.post<{ Params: NumParams; Body: Static<typeof Comment> }>(
    '/api/:types/:ns/:name/discussions/:num/comment',
    { schema: { params: NumParams, body: Comment }, config: needs('contribute') },
    async (request) => {
      const repo = request.repo
      const e = ctx.discussions.comment(repo, Number(request.params.num), request.body.comment, requireUser(request.actor).name)
      return { newMessage: eventJson(e) }
    },
  )

  app.post<{ Params: NumParams; Body: Static<typeof Status> }>(
    '/api/:types/:ns/:name/discussions/:num/status',
    { schema: { params: NumParams, body: Status }, config: needs('contribute') },
    async (request) => {
      const repo = request.repo
      authorize(request.actor, 'discussion.edit', repo, { author: ctx.discussions.get(repo, Number(request.params.num)).author })
      const e = ctx.discussions.setStatus(repo, Number(request.params.num), request.body.status, requireUser(request.actor).name, request.body.comment ?? null)
      return { newStatus: eventJson(e) }
    },
  )

  // py sends no body at all unless there is a comment.
  app.post<{ Params: NumParams; Body: Static<typeof Merge> }>(
    '/api/:types/:ns/:name/discussions/:num/merge',
    { schema: { params: NumParams, body: Merge }, preValidation: optionalBody, config: needs('write') },
    async (request) => {
      const repo = request.repo
      const text = request.body.comment ?? null
      const oid = await ctx.pullRequests.merge(repo, Number(request.params.num), requireUser(request.actor).name, text)
      return { mergeCommitId: oid }
    },
  )
}
