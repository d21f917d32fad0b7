import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { gitProtocolParam } from '../../protocol/pkt-line.js'
import { FILE_PREFIXES, FileRepoParams, gitRepoId } from '../repo-params.js'

const Query = Type.Object({ service: Type.Optional(Type.String()) }, { additionalProperties: true })

/**
 * GET /{prefix}{repo}[.git]/info/refs?service=git-upload-pack|git-receive-pack: the ref
 * advertisement that starts every clone, fetch and push. Only the smart protocol is served.
 */
export function gitInfoRefsRoute(app: FastifyInstance, ctx: Context) {
  /** The service asked for, if it is served here and now (answered before any access check). */
  const serviceOf = (request: FastifyRequest) => {
    const service = (request.query as Static<typeof Query>).service
    if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
      throw errors.forbidden('Only the smart HTTP protocol is served (service=git-upload-pack or git-receive-pack)')
    }
    ctx.git.requireAvailable(service)
    return service
  }
  const action = (request: FastifyRequest) => (serviceOf(request) === 'git-receive-pack' ? 'write' : 'read')
  for (const { prefix, type } of FILE_PREFIXES) {
    app.get<{ Params: FileRepoParams; Querystring: Static<typeof Query> }>(
      `${prefix}/:ns/:name/info/refs`,
      {
        schema: { params: FileRepoParams, querystring: Query },
        // git sends credentials only after a 401 that asks for them: `challenge`.
        config: { gitErrors: true, repo: { id: gitRepoId(type), action, challenge: true } },
      },
      async (request, reply) => {
        const service = serviceOf(request)
        const body = await ctx.git.advertise(request.repo, service, gitProtocolParam(request.headers['git-protocol']))
        return reply
          .headers({ 'Content-Type': `application/x-${service}-advertisement`, 'Cache-Control': 'no-cache, max-age=0, must-revalidate' })
          .send(body)
      },
    )
  }
}
