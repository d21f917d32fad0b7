import { Type } from '@sinclair/typebox'
import type { RepoRow } from '../../../storage/db/repos-table.js'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { authorize, requireUser } from '../../auth/access.js'
import { errors, HubError } from '../../errors.js'
import { BodyTooLargeError, ndjsonLines } from '../../protocol/ndjson.js'
import { queryBool } from '../../protocol/query.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'

const Answer = Type.Object({
  success: Type.Boolean(),
  commitOid: Type.String(),
  commitUrl: Type.String(),
  pullRequestUrl: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  hookOutput: Type.String(),
})

/**
 * POST /api/{types}/{repo}/commit/{rev} (docs/hub-api.md §6). The NDJSON body is streamed line by line into
 * the commit service (it can be hundreds of megabytes), so it skips Fastify's body parsing.
 */
export function commitRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: ApiRepoParams; Querystring: Record<string, unknown> }>(
    '/api/:types/:ns/:name/commit/*',
    // Opening a PR needs only read access (as on the Hub); committing to a ref is asked below.
    { schema: { params: ApiRepoParams, response: { 200: Answer } }, config: { repo: { id: apiRepoId, action: 'contribute' } } },
    async (request) => {
      const repo = request.repo
      const user = requireUser(request.actor)
      const createPr = queryBool(request.query.create_pr)
      const type = request.headers['content-type'] ?? ''
      if (!type.startsWith('application/x-ndjson')) {
        throw new HubError(415, 'The commit body must be application/x-ndjson')
      }
      const rev = await decoding(() => revisionFrom(rawTail(request, 5)))
      const ref = await ctx.commits.targetRef(repo, rev)
      if (!createPr) authorize(request.actor, 'commit', repo, { author: prAuthor(ctx, repo, ref) })
      let result
      try {
        const lines = ndjsonLines(request.raw, ctx.config.maxCommitBody)
        result = await ctx.commits.commit(repo, user, ref, lines, { readsAll: user.is_admin === 1, createPr })
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw errors.tooLarge(`The commit body is larger than ${ctx.config.maxCommitBody} bytes`)
        throw err
      }
      const base = ctx.repos.url(repo)
      return {
        success: true,
        commitOid: result.commitOid,
        commitUrl: `${base}/commit/${result.commitOid}`,
        // py derives refs/pr/N from this exact shape (docs/hub-api.md §6.4).
        pullRequestUrl: result.pullRequest === null ? null : `${base}/discussions/${result.pullRequest}`,
        hookOutput: '',
      }
    },
  )
}

/** The author of the PR whose ref `ref` is (who may push more commits to it); null for any other ref. */
function prAuthor(ctx: Context, repo: RepoRow, ref: string): string | null {
  const m = /^refs\/pr\/(\d+)$/.exec(ref)
  if (!m) return null
  try {
    return ctx.discussions.get(repo, Number(m[1])).author
  } catch {
    return null
  }
}
