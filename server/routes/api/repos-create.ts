import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { requireUser } from '../../auth/access.js'
import { errors } from '../../errors.js'
import { parseRepoType } from '../../protocol/repo-id.js'
import { repoPathProblem } from '../../protocol/repo-path.js'

const Body = Type.Object(
  {
    name: Type.String(),
    organization: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    type: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    visibility: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private'), Type.Literal('protected')])),
    private: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    sdk: Type.Optional(Type.String()),
    files: Type.Optional(
      Type.Array(Type.Object({ path: Type.String(), content: Type.String(), encoding: Type.Optional(Type.String()) })),
    ),
  },
  { additionalProperties: true },
)

const Created = Type.Object({ url: Type.String(), name: Type.String(), id: Type.String() })

/** POST /api/repos/create (docs/hub-api.md §3.1): the repo starts with an `initial commit` on main. */
export function reposCreateRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Body: Static<typeof Body> }>(
    '/api/repos/create',
    { schema: { body: Body, response: { 200: Created } } },
    async (request) => {
      const user = requireUser(request.actor)
      const b = request.body
      const type = parseRepoType(b.type)
      if (!type) throw errors.badRequest(`Unknown repo type "${String(b.type)}": use model, dataset or space`)
      // py sends the full id in `name` when it has no organization in some versions.
      let namespace = b.organization || user.name
      let name = b.name
      if (!b.organization && name.includes('/')) {
        const parts = name.split('/')
        // Not split('/', 2): that would silently create `a/b` for `a/b/c`.
        if (parts.length !== 2) throw errors.unprocessable(`Invalid repo id "${name}": use "namespace/name"`)
        ;[namespace, name] = parts as [string, string]
      }
      const files = (b.files ?? []).map((f) => {
        const problem = repoPathProblem(f.path)
        if (problem) throw errors.unprocessable(`Invalid path "${f.path}": ${problem}`)
        return { path: f.path, content: Buffer.from(f.content, f.encoding === 'base64' ? 'base64' : 'utf8') }
      })
      const isPrivate = b.visibility ? b.visibility !== 'public' : b.private === true
      const repo = await ctx.repos.create(request.actor, {
        type,
        namespace,
        name,
        private: isPrivate,
        sdk: type === 'space' ? (b.sdk ?? 'static') : null,
        files,
      })
      return { url: ctx.repos.url(repo), name: `${repo.namespace}/${repo.name}`, id: repo.id }
    },
  )
}
