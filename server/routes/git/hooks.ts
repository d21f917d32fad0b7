import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors, HubError } from '../../errors.js'

const Headers = Type.Object({ 'x-hubd-hook-token': Type.String({ pattern: '^[0-9a-f]{48}$' }) }, { additionalProperties: true })

/**
 * POST /api/_internal/git-hooks/pre-receive: called by `git-hooks/pre-receive` while a push is
 * in quarantine, authenticated by the one-time token of that receive-pack. 200 lets the refs
 * move; 403 with one reason per line refuses the push (git shows the lines as `remote: …`).
 */
export function gitHooksRoute(app: FastifyInstance, ctx: Context) {
  app.post<{ Headers: Static<typeof Headers>; Body: string }>(
    '/api/_internal/git-hooks/pre-receive',
    { schema: { headers: Headers }, config: { gitErrors: true } },
    async (request, reply) => {
      if (typeof request.body !== 'string') throw errors.badRequest('Expected a text/plain body')
      const problems = await ctx.git.preReceive(request.headers['x-hubd-hook-token'], request.body)
      if (problems.length) throw new HubError(403, problems.map((p) => `error: ${p}`).join('\n'))
      return reply.type('text/plain; charset=utf-8').send('')
    },
  )
}
