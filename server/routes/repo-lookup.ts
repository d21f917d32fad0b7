import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify'
import type { RepoRow } from '../../storage/db/repos-table.js'
import type { RepoAction } from '../auth/access.js'
import { challenged } from '../auth/challenge.js'
import type { Context } from '../context.js'
import { errors, RepoMovedError } from '../errors.js'
import type { RepoId } from '../protocol/repo-id.js'
import { readsUrl } from './repo-params.js'

/** What a route that acts on one repo declares in its `config.repo`. */
export interface RepoRoute {
  /**
   * Which repo: `apiRepoId`, `fileRepoId(type)` or `gitRepoId(type)` (server/routes/repo-params.ts)
   * for the URL's, or a function reading the body. It may throw the answer to a malformed id.
   * Only the URL's functions redirect the old id of a moved repo; for any other it is a missing repo.
   */
  id: (request: FastifyRequest) => RepoId
  /**
   * What the route does to it; a function when that depends on the request (it may throw the
   * answers that must come before any access check). Author rules (`authorize` with facts) are
   * asked by the route once it knows the author.
   */
  action: RepoAction | ((request: FastifyRequest) => RepoAction)
  /** git and git-lfs: access errors carry the 401 challenge those clients wait for (auth/challenge.ts). */
  challenge?: boolean
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The repo this route acts on: found, access-checked and set as `request.repo` before its handler. */
    repo?: RepoRoute
  }
  interface FastifyRequest {
    /** The repo of a route that declares `config.repo`; null on every other route. */
    repo: RepoRow
  }
}

/**
 * The one repo lookup: every route declaring `config.repo` gets, as its first preHandler (after
 * body parsing and validation, where the handlers used to look the repo up), a hook that finds the
 * repo (`RepoService.get`: possibly asynchronous, moved repos redirect), decides access with
 * `auth/access.ts` and hands the route `request.repo`. Other routes get no hook at all. Call
 * before the routes are registered.
 */
export function registerRepoLookup(app: FastifyInstance, ctx: Context): void {
  app.decorateRequest('repo', null as unknown as RepoRow)
  app.addHook('onRoute', (route) => {
    const spec = route.config?.repo
    if (!spec) return
    // A callback hook, not async: a repo found at once costs no promise and no tick (bench/metadata.mjs).
    // A throw still becomes the request's error.
    const hook: preHandlerHookHandler = (request, _reply, done) => {
      const found = lookup(ctx, request, spec)
      if (found instanceof Promise) {
        found.then((repo) => {
          request.repo = repo
          done()
        }, done)
      } else {
        request.repo = found
        done()
      }
    }
    const own = route.preHandler
    // A new array, never the route's own: Fastify's HEAD twin of a GET route shares its options.
    route.preHandler = own === undefined ? hook : [hook, ...(Array.isArray(own) ? own : [own])]
  })
}

function lookup(ctx: Context, request: FastifyRequest, spec: RepoRoute): RepoRow | Promise<RepoRow> {
  const action = typeof spec.action === 'string' ? spec.action : spec.action(request)
  const { type, namespace, name } = spec.id(request)
  const redirects = readsUrl(spec.id)
  if (!spec.challenge && redirects) return ctx.repos.get(type, namespace, name, request.actor, action)
  const refuse = (err: unknown) => {
    // An old id in a body names no repo: a redirect would repeat the same request to the same URL.
    if (!redirects && err instanceof RepoMovedError) err = errors.repoNotFound()
    throw spec.challenge ? challenged(request.actor, err) : err
  }
  try {
    const found = ctx.repos.get(type, namespace, name, request.actor, action)
    return found instanceof Promise ? found.catch(refuse) : found
  } catch (err) {
    return refuse(err)
  }
}
