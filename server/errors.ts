import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PatternLimitError } from '../storage/formats/pattern-limits.js'
import { TreeEditError } from '../storage/git/tree-edit.js'

/** The `X-Error-Code` values hub-py maps to exception classes. */
export type HubErrorCode = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'GatedRepo'

/**
 * The one error type routes and services throw. The handler below turns it into the Hub's
 * dialect: status, `X-Error-Code`, `X-Error-Message` and a `{"error": …}` body.
 */
export class HubError extends Error {
  override name = 'HubError'
  constructor(
    readonly status: number,
    message: string,
    readonly code?: HubErrorCode,
    /** Extra fields merged into the JSON body (e.g. `url` on the create-repo 409). */
    readonly body?: Record<string, unknown>,
    /** Extra response headers (e.g. `X-Repo-Commit` on EntryNotFound, `Content-Range` on 416). */
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

/** The repo was moved: answered with a relative 307 to the same URL under its new id (docs/hub-api.md §7.5). */
export class RepoMovedError extends Error {
  override name = 'RepoMovedError'
  constructor(
    readonly from: { namespace: string; name: string },
    readonly to: { namespace: string; name: string },
  ) {
    super(`Repository moved to ${to.namespace}/${to.name}`)
  }
}

/** The request's URL with the old repo id replaced by the new one, under the public base path. */
function movedLocation(url: string, err: RepoMovedError, basePath: string): string {
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`/${esc(err.from.namespace)}/${esc(err.from.name)}(?=[/?.]|$)`, 'i')
  return basePath + url.replace(re, `/${err.to.namespace}/${err.to.name}`)
}

export const INVALID_CREDENTIALS = 'Invalid credentials in Authorization header'
export const BRANCH_UPDATED = 'The branch was updated since you opened this page. Please refresh and try again.'

const CHALLENGE = 'Basic realm="hubd"'

export const errors = {
  repoNotFound: () => new HubError(404, 'Repository not found', 'RepoNotFound'),
  revisionNotFound: (rev: string) => new HubError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound'),
  entryNotFound: (commit?: string, message = 'Entry not found') =>
    new HubError(404, message, 'EntryNotFound', undefined, commit ? { 'X-Repo-Commit': commit } : undefined),
  badRequest: (message: string) => new HubError(400, message),
  notFound: (message: string) => new HubError(404, message),
  unprocessable: (message: string) => new HubError(422, message),
  /** No token where one is needed. */
  unauthorized: (message = 'You must be authenticated to do this. Pass a token with "Authorization: Bearer hf_..."') =>
    new HubError(401, message),
  /** A token was sent but is unknown, revoked or malformed: exact Hub wording and no X-Error-Code (docs/hub-api.md §1.6). */
  invalidCredentials: () => new HubError(401, INVALID_CREDENTIALS),
  forbidden: (message: string) => new HubError(403, message),
  conflict: (message: string, body?: Record<string, unknown>) => new HubError(409, message, undefined, body),
  preconditionFailed: (message = BRANCH_UPDATED) => new HubError(412, message),
  tooLarge: (message: string) => new HubError(413, message),
  rangeNotSatisfiable: (size: number) =>
    new HubError(416, 'Requested range not satisfiable', undefined, undefined, { 'Content-Range': `bytes */${size}` }),
  /** Over a rate limit (server/rate-limit.ts): `headers` carry RateLimit, RateLimit-Policy and Retry-After. */
  rateLimited: (message: string, headers: Record<string, string>) => new HubError(429, message, undefined, undefined, headers),
  notImplemented: (message: string) => new HubError(501, message),
  unavailable: (message: string) => new HubError(503, message),
  /** 507, not 500: clients retry a 5xx like 500, and a full disk does not clear by retrying. */
  outOfSpace: () => new HubError(507, 'The server is out of disk space; the write was not stored. Reads still work; ask its administrator to free space'),
  /**
   * `err` as a 401 that asks for credentials: git and git-lfs send a token only after a 401
   * carrying `WWW-Authenticate` (git-lfs also reads `LFS-Authenticate`).
   */
  challenge: (err: HubError) =>
    new HubError(401, err.message, err.code, err.body, { ...err.headers, 'WWW-Authenticate': CHALLENGE, 'LFS-Authenticate': CHALLENGE }),
}

/** Header values must be one line of printable ASCII (Node throws on control characters). */
function headerSafe(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 1000)
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** LFS routes add `message` to error bodies: git-lfs reads that key. */
    lfsErrors?: boolean
    /** git smart-HTTP routes answer errors in text/plain: git prints such a body as `remote: …`. */
    gitErrors?: boolean
  }
}

function toHubError(err: FastifyError | Error): HubError | null {
  if (err instanceof HubError) return err
  // A .gitattributes / .gitignore over the configured limits, or too costly to match against this
  // request's paths (PatternBudgetError is one), from preupload or commit.
  if (err instanceof PatternLimitError) return errors.unprocessable(err.message)
  // A path that cannot be written (repo creation with files, a pull-request merge).
  if (err instanceof TreeEditError) return err.kind === 'missing' ? errors.entryNotFound(undefined, err.message) : errors.unprocessable(err.message)
  const fe = err as FastifyError
  // A full disk (or quota) under any write: a file system error, or SQLite's own.
  if (fe.code === 'ENOSPC' || fe.code === 'EDQUOT' || fe.code === 'SQLITE_FULL') return errors.outOfSpace()
  if (fe.validation) return errors.badRequest(`Invalid request: ${fe.message}`)
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return errors.tooLarge('Request body is too large')
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HubError(415, fe.message)
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return errors.badRequest(fe.message)
  }
  if (err instanceof SyntaxError) return errors.badRequest(`Malformed JSON body: ${err.message}`)
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HubError(fe.statusCode, fe.message)
  }
  return null
}

/** Writes an error in the Hub's format. Exposed for routes that stream and must answer mid-way. */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: HubError): FastifyReply {
  const message = headerSafe(err.message)
  reply.code(err.status)
  reply.header('X-Error-Message', message)
  if (err.code) reply.header('X-Error-Code', err.code)
  for (const [k, v] of Object.entries(err.headers ?? {})) reply.header(k, v)
  // A refusal in the middle of a streamed body (out of space, too large, a bad line) leaves the
  // rest unread: the connection cannot carry another request, and a client told nothing would
  // send its next one down it and see the socket close under it.
  if (!request.raw.complete) reply.header('Connection', 'close')
  if (request.method === 'HEAD') return reply.send()
  if (request.routeOptions.config?.gitErrors) return reply.type('text/plain; charset=utf-8').send(`${err.message}\n`)
  const body: Record<string, unknown> = { error: err.message, ...err.body }
  if (request.routeOptions.config?.lfsErrors) body.message = err.message
  return reply.type('application/json; charset=utf-8').send(body)
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/**
 * The single place errors become responses; 500s are logged once here and masked.
 * `repoReadable` tells the not-found handler whether an `/api/{types}/{ns}/{name}/…` URL names a
 * repo the caller can see, so an unknown endpoint on it is not reported as a missing repo.
 */
export function registerErrorHandling(
  app: FastifyInstance,
  repoReadable: (request: FastifyRequest, types: string, ns: string, name: string) => Promise<boolean>,
  basePath = '',
): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof RepoMovedError) {
      return reply.code(307).header('Location', movedLocation(request.url, err, basePath)).send()
    }
    const hubError = toHubError(err)
    if (hubError) {
      if (hubError.status >= 500) request.log.error({ err }, 'request failed')
      return sendError(request, reply, hubError)
    }
    request.log.error({ err }, 'unexpected error')
    return sendError(request, reply, new HubError(500, 'Internal server error'))
  })

  // @NOTE: unknown repo-shaped URLs must still look like RepoNotFound to hub-py (docs/hub-api.md §0.3 trap 3),
  // unless the repo is there: then the endpoint is what is missing.
  app.setNotFoundHandler(async (request, reply) => {
    const p = request.url.split('?')[0] ?? ''
    const generic = new HubError(404, `Not found: ${request.method} ${p}`)
    const api = /^\/api\/(models|datasets|spaces)\/([^/]+)\/([^/]+)/.exec(p)
    if (api && (await repoReadable(request, api[1]!, safeDecode(api[2]!), safeDecode(api[3]!)))) {
      return sendError(request, reply, generic)
    }
    const repoShaped = /^\/api\/(models|datasets|spaces|kernels)\//.test(p) || /\/(resolve|raw)\//.test(p)
    return sendError(request, reply, repoShaped ? errors.repoNotFound() : generic)
  })
}
