import type { FastifyRequest } from 'fastify'
import type { RepoRow, RepoType } from '../../../storage/db/repos-repo.js'
import type { Action } from '../../auth/access.js'
import { withChallenge } from '../../auth/challenge.js'
import type { Context } from '../../context.js'
import { stripGit } from '../lfs/batch.js'
import type { FileRepoParams } from '../repo-params.js'

/**
 * The repository a git URL names (`/{prefix}{ns}/{name}[.git]/…`) if the caller may do `action`
 * on it; otherwise the answer git understands (401 with a challenge for anonymous callers).
 */
export function gitRepo(ctx: Context, request: FastifyRequest<{ Params: FileRepoParams }>, type: RepoType, action: Action): RepoRow {
  const { ns, name } = request.params
  return withChallenge(request.actor, () => ctx.repos.get(type, ns, stripGit(name), request.actor, action))
}

/** A URL of this very server as seen from this machine, for the hooks of the git processes it spawns. */
export function loopbackBase(request: FastifyRequest): string {
  let host = request.socket.localAddress ?? '127.0.0.1'
  if (host.startsWith('::ffff:')) host = host.slice(7)
  return `http://${host.includes(':') ? `[${host}]` : host}:${request.socket.localPort}`
}
