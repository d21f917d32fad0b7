import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Config } from './config.js'
import { errors, type HubError } from './errors.js'

/**
 * Rate limiting of the expensive endpoints, in the Hub's two programmatic buckets (docs/hub-api.md §1.10.4,
 * the Hub's rate-limit page): `api` (listings and search, repo info, tree, commits, refs, commit,
 * preupload, branches and tags, repo management, LFS batch, git smart HTTP) and `resolvers` (file
 * downloads: resolve, raw, LFS download). Each bucket is a fixed window per token, or per client
 * IP for requests without a valid token; the site admin is never limited.
 *
 * @NOTE: the counters live in this process's memory: several hubd instances behind one address
 * each enforce their own budget (a client may get up to N × the quota), and a restart resets them.
 * Behind a reverse proxy every anonymous caller has the proxy's IP, so they share one budget.
 */
export type RatePolicy = 'api' | 'resolvers'

/** Endpoints outside every bucket: cheap, internal, site-admin only, or signed object transfers. */
const UNLIMITED_API = /^\/api\/(?:telemetry|whoami-v2|validate-yaml|lfs|admin|_internal)(?:\/|$)/
const GIT_OR_BATCH = /\/(?:info\/refs|git-upload-pack|git-receive-pack|info\/lfs\/objects\/batch)$/
const FILES = /\/(?:resolve|raw)\/\*$/

/**
 * The bucket a route counts against, from its URL pattern (as registered), or null when it is not
 * limited. Signed LFS object URLs (upload, multipart, verify) are not: each follows a batch call,
 * which is, and a large upload legitimately makes thousands of part requests.
 */
export function routePolicy(url: string): RatePolicy | null {
  if (FILES.test(url) || url === '/api/lfs/download/:oid') return 'resolvers'
  if (GIT_OR_BATCH.test(url)) return 'api'
  if (!url.startsWith('/api/') || UNLIMITED_API.test(url)) return null
  return 'api'
}

interface Window {
  /** Requests let through in this window. */
  count: number
  /** When the window ends (ms since the epoch). */
  resetAt: number
}

/** Fixed-window counters for one bucket, keyed by token id or client IP. */
export class FixedWindowLimiter {
  private readonly byToken = new Map<string, Window>()
  private readonly byIp = new Map<string, Window>()
  private readonly windowMs: number
  private readonly policyHeader: string
  private nextSweep = 0

  constructor(
    readonly policy: RatePolicy,
    readonly quota: number,
    readonly windowSeconds: number,
  ) {
    this.windowMs = windowSeconds * 1000
    // The Hub's form (draft-ietf-httpapi-ratelimit-headers), as hub-py parses it.
    this.policyHeader = `"fixed window";"${policy}";q=${quota};w=${windowSeconds}`
  }

  /**
   * Counts one request and sets the RateLimit headers on `reply`; returns the 429 to answer
   * instead when the caller's window is used up (that request is not counted).
   */
  check(request: FastifyRequest, reply: FastifyReply): HubError | undefined {
    const actor = request.actor
    if (actor.user !== null && actor.user.is_admin === 1) return undefined
    const now = Date.now()
    if (now >= this.nextSweep) this.sweep(now)
    const token = actor.token
    const map = token === null ? this.byIp : this.byToken
    const key = token === null ? request.ip : token.id
    let w = map.get(key)
    if (w === undefined) {
      w = { count: 0, resetAt: now + this.windowMs }
      map.set(key, w)
    } else if (now >= w.resetAt) {
      w.count = 0
      w.resetAt = now + this.windowMs
    }
    const resetIn = Math.max(1, Math.ceil((w.resetAt - now) / 1000))
    if (w.count >= this.quota) return this.refusal(token === null, resetIn)
    w.count++
    reply.header('RateLimit', `"${this.policy}";r=${this.quota - w.count};t=${resetIn}`)
    reply.header('RateLimit-Policy', this.policyHeader)
    return undefined
  }

  private refusal(anonymous: boolean, resetIn: number): HubError {
    const who = anonymous ? 'this IP address (pass a token to get a budget of your own)' : 'this token'
    return errors.rateLimited(
      `Rate limit reached: ${this.quota} "${this.policy}" requests per ${this.windowSeconds} seconds for ${who}. Retry in ${resetIn} seconds.`,
      { RateLimit: `"${this.policy}";r=0;t=${resetIn}`, 'RateLimit-Policy': this.policyHeader, 'Retry-After': String(resetIn) },
    )
  }

  /** Drops finished windows, once per window length, so memory follows the callers of one window. */
  private sweep(now: number): void {
    this.nextSweep = now + this.windowMs
    for (const map of [this.byToken, this.byIp]) {
      for (const [key, w] of map) if (now >= w.resetAt) map.delete(key)
    }
  }
}

/**
 * Adds the limiter to every limited route as that route's first onRequest hook (after the app's
 * own, which sets `request.actor`), so unlimited routes pay nothing. Call before the routes are
 * registered. A quota of 0 switches its bucket off.
 */
export function registerRateLimit(app: FastifyInstance, config: Pick<Config, 'rateLimitApi' | 'rateLimitResolve' | 'rateLimitWindow'>): void {
  const limiters: Record<RatePolicy, FixedWindowLimiter | null> = {
    api: config.rateLimitApi > 0 ? new FixedWindowLimiter('api', config.rateLimitApi, config.rateLimitWindow) : null,
    resolvers: config.rateLimitResolve > 0 ? new FixedWindowLimiter('resolvers', config.rateLimitResolve, config.rateLimitWindow) : null,
  }
  if (!limiters.api && !limiters.resolvers) return
  app.addHook('onRoute', (route) => {
    const policy = routePolicy(route.url)
    const limiter = policy === null ? null : limiters[policy]
    if (!limiter) return
    const hook: onRequestHookHandler = (request, reply, done) => done(limiter.check(request, reply))
    const own = route.onRequest
    route.onRequest = own === undefined ? hook : [hook, ...(Array.isArray(own) ? own : [own])]
  })
}
