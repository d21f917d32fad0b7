import path from 'node:path'
import { DEFAULT_PATTERN_LIMITS, type PatternLimits } from '../storage/formats/pattern-limits.js'

/** Everything the server reads from the environment, validated once at start. */
export interface Config {
  readonly port: number
  readonly host: string
  readonly dataDir: string
  /** Exactly what users put in HF_ENDPOINT, no trailing slash; null → `http://localhost:<port>`. */
  readonly publicUrl: string | null
  readonly adminUser: string
  readonly adminToken: string | null
  /** Files at or above this size are uploaded through LFS (preupload's answer). */
  readonly lfsThreshold: number
  /** Part size offered for the HF multipart transfer; objects larger than it use multipart. */
  readonly multipartChunkSize: number
  /** Lifetime of signed LFS upload/part/completion URLs, in seconds. */
  readonly signedUrlTtl: number
  /** Largest accepted LFS object, in bytes. */
  readonly maxObjectSize: number
  /** Largest NDJSON commit body, in bytes. */
  readonly maxCommitBody: number
  /** Bounds on a `.gitattributes` / `.gitignore` that preupload and commit read (pattern count, pattern bytes, matching work per request). */
  readonly patternLimits: PatternLimits
  /** fdatasync blobs before they become visible (survives power loss, costs throughput). */
  readonly fsync: boolean
  readonly logLevel: string
  /** The git binary for clone/push over HTTP and maintenance (checked once at start). */
  readonly gitBinary: string
  /** PATH handed to git and its hooks (the server's own). */
  readonly processPath: string
  /** Most git processes serving clones and pushes at once; more requests wait. */
  readonly gitMaxProcesses: number
  /** Pack a repository's loose objects after this many API commits or pushes. */
  readonly gitMaintenanceWrites: number
  /** Seconds between passes packing every repository written since the last one; 0: off. */
  readonly gitMaintenanceInterval: number
  /** Requests per rate-limit window on the "api" endpoints, per token (per IP without one); 0: unlimited. */
  readonly rateLimitApi: number
  /** The same for file downloads (resolve, raw, LFS download): the "resolvers" bucket. */
  readonly rateLimitResolve: number
  /** Length of a rate-limit window, in seconds. */
  readonly rateLimitWindow: number
  /** Whether callers without a token may read public repos; false makes every read need a token. */
  readonly anonymousRead: boolean
  /** Behind a reverse proxy: take the client address from X-Forwarded-For (rate limits per IP). */
  readonly trustProxy: boolean
  /** Xet storage (issue 6): CAS endpoints, token endpoints, and steering clients to Xet; false: LFS only. */
  readonly xet: boolean
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`)
  const n = Number(raw)
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`)
  return n
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase()
  if (raw === undefined || raw === '') return fallback
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true
  if (['0', 'false', 'no', 'off'].includes(raw)) return false
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`)
}

const MiB = 1024 * 1024

/** Reads and checks the HUBD_* variables; throws ConfigError with a one-line message naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'HUBD_PORT', 8080, 0, 65535)
  const host = env.HUBD_HOST || '127.0.0.1'
  const dataDir = path.resolve(env.HUBD_DATA_DIR || './data')

  let publicUrl: string | null = null
  if (env.HUBD_PUBLIC_URL) {
    let u: URL
    try {
      u = new URL(env.HUBD_PUBLIC_URL)
    } catch {
      throw new ConfigError(`HUBD_PUBLIC_URL must be an absolute http(s) URL, got "${env.HUBD_PUBLIC_URL}"`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ConfigError(`HUBD_PUBLIC_URL must start with http:// or https://, got "${env.HUBD_PUBLIC_URL}"`)
    }
    if (u.search || u.hash) throw new ConfigError('HUBD_PUBLIC_URL must not carry a query or fragment')
    publicUrl = env.HUBD_PUBLIC_URL.replace(/\/+$/, '')
  }

  const adminUser = env.HUBD_ADMIN_USER || 'admin'
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?$/.test(adminUser) || /--|\.\./.test(adminUser)) {
    throw new ConfigError(`HUBD_ADMIN_USER is not a valid user name: "${adminUser}"`)
  }
  const adminToken = env.HUBD_ADMIN_TOKEN || null
  if (adminToken !== null && !/^hf_[A-Za-z0-9_-]{8,200}$/.test(adminToken)) {
    throw new ConfigError('HUBD_ADMIN_TOKEN must start with "hf_" followed by at least 8 letters, digits, "_" or "-"')
  }

  const logLevel = env.HUBD_LOG_LEVEL || 'info'
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError(`HUBD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "${logLevel}"`)
  }
  const multipartChunkSize = int(env, 'HUBD_MULTIPART_CHUNK_SIZE', 64 * MiB, 5 * MiB, 5 * 1024 * MiB)
  return Object.freeze({
    port,
    host,
    dataDir,
    publicUrl,
    adminUser,
    adminToken,
    lfsThreshold: int(env, 'HUBD_LFS_THRESHOLD', 10 * MiB, 1, Number.MAX_SAFE_INTEGER),
    multipartChunkSize,
    signedUrlTtl: int(env, 'HUBD_SIGNED_URL_TTL', 24 * 3600, 60, 30 * 24 * 3600),
    maxObjectSize: int(env, 'HUBD_MAX_OBJECT_SIZE', 500 * 1024 * MiB, 1, Number.MAX_SAFE_INTEGER),
    maxCommitBody: int(env, 'HUBD_MAX_COMMIT_BODY', 2048 * MiB, 1024, Number.MAX_SAFE_INTEGER),
    patternLimits: Object.freeze({
      maxPatterns: int(env, 'HUBD_MAX_PATTERNS', DEFAULT_PATTERN_LIMITS.maxPatterns, 1, 1_000_000),
      maxPatternBytes: int(env, 'HUBD_MAX_PATTERN_BYTES', DEFAULT_PATTERN_LIMITS.maxPatternBytes, 1, 1024 * 1024),
      maxMatchSteps: int(env, 'HUBD_MAX_PATTERN_STEPS', DEFAULT_PATTERN_LIMITS.maxMatchSteps, 1000, Number.MAX_SAFE_INTEGER),
    }),
    fsync: bool(env, 'HUBD_FSYNC', true),
    logLevel,
    gitBinary: env.HUBD_GIT || 'git',
    processPath: env.PATH || '/usr/local/bin:/usr/bin:/bin',
    gitMaxProcesses: int(env, 'HUBD_GIT_MAX_PROCESSES', 16, 1, 1024),
    gitMaintenanceWrites: int(env, 'HUBD_GIT_MAINTENANCE_WRITES', 50, 1, 1_000_000),
    gitMaintenanceInterval: int(env, 'HUBD_GIT_MAINTENANCE_INTERVAL', 600, 0, 7 * 24 * 3600),
    // @NOTE: the Hub's own budgets for a free account (5-minute fixed windows): whatever works
    // against huggingface.co works here; the site admin is never limited.
    rateLimitApi: int(env, 'HUBD_RATE_LIMIT_API', 1000, 0, 1_000_000_000),
    rateLimitResolve: int(env, 'HUBD_RATE_LIMIT_RESOLVE', 5000, 0, 1_000_000_000),
    rateLimitWindow: int(env, 'HUBD_RATE_LIMIT_WINDOW', 300, 1, 24 * 3600),
    anonymousRead: bool(env, 'HUBD_ANONYMOUS_READ', true),
    trustProxy: bool(env, 'HUBD_TRUST_PROXY', false),
    xet: bool(env, 'HUBD_XET', true),
  })
}
