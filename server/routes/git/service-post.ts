import type { FastifyInstance } from 'fastify'
import type { Context } from '../../context.js'
import { gitProtocolParam } from '../../protocol/pkt-line.js'
import type { GitService } from '../../services/git-http-service.js'
import { FILE_PREFIXES, FileRepoParams, gitRepoId } from '../repo-params.js'
import { loopbackBase } from './loopback-base.js'

/**
 * POST /{prefix}{repo}[.git]/git-upload-pack (clone, fetch) or /git-receive-pack (push). The
 * body is pack protocol, possibly gzipped and chunked, and is streamed to git unparsed.
 */
function servicePostRoute(service: GitService) {
  return (app: FastifyInstance, ctx: Context) => {
    // Streamed on purpose: the body goes to git as it arrives, never through a parser or bodyLimit.
    app.addContentTypeParser(`application/x-${service}-request`, (_req, _payload, done) => done(null, undefined))
    // 503 without git, before any access check.
    const action = () => {
      ctx.git.requireAvailable(service)
      return service === 'git-receive-pack' ? 'write' : 'read'
    }
    for (const { prefix, type } of FILE_PREFIXES) {
      app.post<{ Params: FileRepoParams }>(
        `${prefix}/:ns/:name/${service}`,
        { schema: { params: FileRepoParams }, config: { gitErrors: true, repo: { id: gitRepoId(type), action, challenge: true } } },
        async (request, reply) => {
          reply.hijack()
          await ctx.git.serve(request.repo, service, gitProtocolParam(request.headers['git-protocol']), request.raw, reply.raw, loopbackBase(request))
        },
      )
    }
  }
}

export const gitUploadPackRoute = servicePostRoute('git-upload-pack')
export const gitReceivePackRoute = servicePostRoute('git-receive-pack')
