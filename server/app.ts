import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import type { DestinationStream } from 'pino'
import type { Context } from './context.js'
import type { Actor } from './auth/access.js'
import { registerErrorHandling, errors, sendError } from './errors.js'
import { lazyChildLogger, loggerOptions, RequestLogController } from './logger.js'
import { registerRateLimit } from './rate-limit.js'
import { typeFromSegment } from './protocol/repo-id.js'
import { registerRoutes } from './routes/index.js'
import { registerRepoLookup } from './routes/repo-lookup.js'

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor
  }
}

export interface AppOptions {
  /** Where logs go (tests capture them); default stdout. */
  logStream?: DestinationStream
}

/** What a page's scripts (transformers.js, @huggingface/hub in a browser) may read of an answer. */
const EXPOSED =
  'Content-Range, Content-Length, ETag, X-Linked-Etag, X-Linked-Size, X-Repo-Commit, X-Error-Code, X-Error-Message, X-Request-Id, X-Total-Count, Link, Accept-Ranges, RateLimit, RateLimit-Policy, Retry-After, X-Xet-Hash, X-Xet-Cas-Url, X-Xet-Access-Token, X-Xet-Token-Expiration, X-Xet-Refresh-Route'

/**
 * Only a preflight's answer is read for these (Fetch standard, CORS-preflight fetch), so only
 * OPTIONS sends them: Node validates every header byte by byte, on every answer.
 */
const PREFLIGHT_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Authorization, Content-Type, Range, X-Request-Id, Accept, X-Xet-Session-Id',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Max-Age': '600',
}

/** Request ids: a random per-process prefix and a counter; a UUID per request cost ~2 µs. */
const ID_PREFIX = randomBytes(6).toString('hex')
let lastId = 0

/** What every answer carries, errors included: CORS for browsers and the request id. */
function everyAnswer(reply: FastifyReply, requestId: string): void {
  reply.header('Access-Control-Allow-Origin', '*').header('Access-Control-Expose-Headers', EXPOSED).header('X-Request-Id', requestId)
}

function stripBase(url: string, base: string): string {
  if (url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`)) return url.slice(base.length) || '/'
  return url
}

/** Builds the Fastify app around a context; never listens (main.ts and the tests do). */
export async function buildApp(ctx: Context, options: AppOptions = {}): Promise<FastifyInstance> {
  // Serve every route below the public URL's path prefix, if it has one (docs/hub-api.md §1.1).
  const basePath = ctx.config.publicUrl ? new URL(ctx.config.publicUrl).pathname.replace(/\/+$/, '') : ''
  const app = Fastify({
    logger: loggerOptions(ctx.config.logLevel, options.logStream),
    // One log line per request, and no pino child per request unless it logs (server/logger.ts).
    logController: new RequestLogController(),
    childLoggerFactory: lazyChildLogger,
    // Revisions and paths are parsed from the raw URL, but params must not be cut short either.
    routerOptions: { maxParamLength: 2048 },
    bodyLimit: 64 * 1024 * 1024,
    trustProxy: ctx.config.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'] ?? req.headers['x-amzn-trace-id']
      return typeof given === 'string' && /^[\w.:=;-]{1,200}$/.test(given) ? given : `${ID_PREFIX}-${(++lastId).toString(36)}`
    },
    ...(basePath ? { rewriteUrl: (req: IncomingMessage) => stripBase(req.url ?? '/', basePath) } : {}),
    // The router answers a malformed percent-encoding itself, before any hook or error handler;
    // keep that answer in the Hub's error format (docs/hub-api.md §1.10) and with CORS, like every other.
    frameworkErrors: (err, request, reply) => {
      everyAnswer(reply, request.id)
      return sendError(request, reply, errors.badRequest(err.message))
    },
  })

  registerErrorHandling(app, async (request, types, ns, name) => {
    const type = typeFromSegment(types)
    if (!type) return false
    try {
      await ctx.repos.get(type, ns, name, request.actor, 'read')
      return true
    } catch {
      return false
    }
  }, basePath)
  app.decorateRequest('actor', null as unknown as Actor)
  // A callback hook, not async, and no object spread: it runs on every request, and the promise
  // and copy cost about a quarter of a bare request (bench/metadata.mjs). A throw still becomes
  // the request's error.
  app.addHook('onRequest', (request, reply, done) => {
    everyAnswer(reply, request.id)
    request.actor = ctx.auth.actorFor(request.headers.authorization)
    done()
  })
  app.options('*', async (_request, reply) => reply.headers(PREFLIGHT_HEADERS).code(204).send())

  // Body parsers the clients need (docs/hub-api.md §13): LFS JSON, form-encoded paths-info; NDJSON commits
  // and raw uploads are streamed by their routes, so those parsers hand the stream through.
  app.addContentTypeParser('application/vnd.git-lfs+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'ignore'))
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, string | string[]> = {}
    for (const [k, v] of new URLSearchParams(body as string)) {
      const prev = out[k]
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
    }
    done(null, out)
  })
  app.addContentTypeParser('application/x-ndjson', (_req, _payload, done) => done(null, undefined))

  registerRateLimit(app, ctx.config) // before the routes: it hooks the limited ones as they are added
  registerRepoLookup(app, ctx) // likewise, the routes that declare `config.repo`
  await registerRoutes(app, ctx)
  return app
}
