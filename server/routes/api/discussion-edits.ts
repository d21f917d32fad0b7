import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { authorize, requireUser } from '../../auth/access.js'
import { eventJson } from '../../protocol/discussion-json.js'
import { ApiRepoParams, apiRepoId } from '../repo-params.js'

const NumParams = Type.Intersect([ApiRepoParams, Type.Object({ num: Type.String({ pattern: '^\\d{1,9}$' }) })])
type NumParams = Static<typeof NumParams>
const CommentParams = Type.Intersect([NumParams, Type.Object({ commentId: Type.String({ maxLength: 100 }) })])
type CommentParams = Static<typeof CommentParams>
const Title = Type.Object({ title: Type.String({ minLength: 3, maxLength: 200 }) }, { additionalProperties: true })
const Content = Type.Object({ content: Type.String({ minLength: 1 }) }, { additionalProperties: true })


/**
 * POST …/discussions/{num}/title, …/comment/{id}/edit and …/comment/{id}/hide (py
 * `rename_discussion`, `edit_discussion_comment`, `hide_discussion_comment`). A discussion's author
 * may rename it; a comment's author may edit it; hiding takes write access to the repo.
 */
export function discussionEditsRoute(app: FastifyInstance, ctx: Context) {
  const target = (request: FastifyRequest<{ Params: NumParams }>) => {
    const repo = request.repo
    return { repo, d: ctx.discussions.get(repo, Number(request.params.num)), user: requireUser(request.actor) }
  }
  const config = { repo: { id: apiRepoId, action: 'contribute' as const } }

  app.post<{ Params: NumParams; Body: Static<typeof Title> }>(
    '/api/:types/:ns/:name/discussions/:num/title',
    { schema: { params: NumParams, body: Title }, config },
    async (request) => {
      const { repo, d, user } = target(request)
      authorize(request.actor, 'discussion.edit', repo, { author: d.author })
      return { newTitle: eventJson(ctx.discussions.rename(repo, d, request.body.title.trim(), user.name)) }
    },
  )

  app.post<{ Params: CommentParams; Body: Static<typeof Content> }>(
    '/api/:types/:ns/:name/discussions/:num/comment/:commentId/edit',
    { schema: { params: CommentParams, body: Content }, config },
    async (request) => {
      const { repo, d, user } = target(request)
      const comment = ctx.discussions.findComment(repo, d, request.params.commentId)
      authorize(request.actor, 'comment.edit', repo, { author: comment.author })
      return { updatedComment: eventJson(ctx.discussions.editComment(repo, d, request.params.commentId, request.body.content, user.name)) }
    },
  )

  app.post<{ Params: CommentParams }>(
    '/api/:types/:ns/:name/discussions/:num/comment/:commentId/hide',
    { schema: { params: CommentParams }, config },
    async (request) => {
      const { repo, d } = target(request)
      authorize(request.actor, 'write', repo)
      return { updatedComment: eventJson(ctx.discussions.hideComment(repo, d, request.params.commentId)) }
    },
  )
}
