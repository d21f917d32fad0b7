import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { errors } from '../../errors.js'
import { gitProtocolParam } from '../../protocol/pkt-line.js'
import { FILE_PREFIXES, FileRepoParams } from '../repo-params.js'
import { gitRepo } from './git-repo.js'

const Query = Type.Object({ service: Type.Optional(Type.String()) }, { additionalProperties: true })

/**
 * GET /{prefix}{repo}[.git]/info/refs?service=git-upload-pack|git-receive-pack: the ref
 * advertisement that starts every clone, fetch and push. Only the smart protocol is served.
 */
export function gitInfoRefsRoute(app: FastifyInstance, ctx: Context) {
  for (const { prefix, type } of FILE_PREFIXES) {
    app.get<{ Params: FileRepoParams; Querystring: Static<typeof Query> }>(
      `${prefix}/:ns/:name/info/refs`,
      { schema: { params: FileRepoParams, querystring: Query }, config: { gitErrors: true } },
      async (request, reply) => {
        const service = request.query.service
        if (service !== 'git-upload-pack' && service !== 'git-receive-pack') {
          throw errors.forbidden('Only the smart HTTP protocol is served (service=git-upload-pack or git-receive-pack)')
        }
        ctx.git.requireAvailable(service)
        const repo = gitRepo(ctx, request, type, service === 'git-receive-pack' ? 'write' : 'read')
        const body = await ctx.git.advertise(repo, service, gitProtocolParam(request.headers['git-protocol']))
        return reply
          .headers({ 'Content-Type': `application/x-${service}-advertisement`, 'Cache-Control': 'no-cache, max-age=0, must-revalidate' })
          .send(body)
      },
    )
  }
}
