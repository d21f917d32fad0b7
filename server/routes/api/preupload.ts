import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { LfsAttributes } from '../../../storage/formats/gitattributes.js'
import { GitIgnore } from '../../../storage/formats/gitignore.js'
import { MatchBudget } from '../../../storage/formats/pattern-limits.js'
import { errors } from '../../errors.js'
import { MAX_PATH_BYTES } from '../../protocol/repo-path.js'
import { revisionFrom } from '../../protocol/url-path.js'
import { uploadMode } from '../../protocol/upload-mode.js'
import { ApiRepoParams, apiRepoId, decoding, rawTail } from '../repo-params.js'
import type { RepoRow } from '../../../storage/db/repos-table.js'

const Body = Type.Object(
  {
    files: Type.Array(
      Type.Object({ path: Type.String(), sample: Type.Optional(Type.String()), size: Type.Integer({ minimum: 0 }) }, { additionalProperties: true }),
      { maxItems: 1000 },
    ),
    gitIgnore: Type.Optional(Type.String()),
    gitAttributes: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
)

const Answer = Type.Object({
  files: Type.Array(
    Type.Object({
      path: Type.String(),
      uploadMode: Type.Union([Type.Literal('lfs'), Type.Literal('regular')]),
      shouldIgnore: Type.Boolean(),
      oid: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
})

/** POST /api/{types}/{repo}/preupload/{rev} (docs/hub-api.md §5.3): one answer for every requested path. */
export function preuploadRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Params: ApiRepoParams; Body: Static<typeof Body> }>(
    '/api/:types/:ns/:name/preupload/*',
    { schema: { params: ApiRepoParams, body: Body, response: { 200: Answer } }, config: { repo: { id: apiRepoId, action: 'contribute' } } },
    async (request) => {
      const repo = request.repo
      // A path no commit would accept needs no answer, and its length multiplies the matching work.
      const long = request.body.files.find((f) => Buffer.byteLength(f.path) > MAX_PATH_BYTES)
      if (long) throw errors.unprocessable(`invalid path "${long.path.slice(0, 200)}": path is longer than ${MAX_PATH_BYTES} bytes`)
      const rev = await decoding(() => revisionFrom(rawTail(request, 5)))
      const { commit } = await ctx.content.resolve(repo, rev)
      const readText = async (path: string) => {
        const e = await ctx.content.entry(repo, commit, path)
        return e?.type === 'file' && !e.lfs ? (await ctx.content.readBlob(repo, e.oid)).toString('utf8') : ''
      }
      const limits = ctx.config.patternLimits
      // One budget for both files: the work of the whole request is what must stay bounded.
      const budget = new MatchBudget(limits.maxMatchSteps)
      const attrs = new LfsAttributes(request.body.gitAttributes ?? (await readText('.gitattributes')), limits, budget)
      const ignore = new GitIgnore(request.body.gitIgnore ?? (await readText('.gitignore')), limits, budget)
      const files = []
      for (const f of request.body.files) {
        const sample = Buffer.from(f.sample ?? '', 'base64')
        files.push({
          path: f.path,
          uploadMode: uploadMode({ path: f.path, size: f.size, sample }, attrs, ctx.config.lfsThreshold),
          shouldIgnore: ignore.ignores(f.path),
          oid: await currentOid(ctx, repo, commit, f.path),
        })
      }
      return { files }
    },
  )
}

/** The id py compares with to skip unchanged files: sha256 for LFS files, git blob id otherwise. */
async function currentOid(ctx: Context, repo: RepoRow, commit: string, path: string): Promise<string | null> {
  const e = await ctx.content.entry(repo, commit, path)
  if (e?.type !== 'file') return null
  return e.lfs ? e.lfs.oid : e.oid
}
