import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Bindings, ChildLoggerOptions, DestinationStream } from 'pino'

/** Signed URLs are bearer capabilities: their signatures never reach the log either. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:sig|token|access_token)=)[^&]*/gi, '$1[Redacted]')
}

/** pino options for the server: tokens (headers and signed URLs) are redacted everywhere. */
export function loggerOptions(level: string, stream?: DestinationStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'request.headers.authorization',
        '*.authorization',
      ],
      censor: '[Redacted]',
    },
    serializers: {
      req(req: { method: string; url: string; headers: Record<string, unknown>; ip?: string }) {
        return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip, userAgent: req.headers['user-agent'] }
      },
    },
  } as NonNullable<FastifyServerOptions['logger']>
}

type LogFn = (...args: unknown[]) => void
type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** What the request loggers need of their parent (pino). */
interface ParentLogger extends FastifyBaseLogger {
  isLevelEnabled(level: string): boolean
}

/**
 * A request's logger that builds its pino child only when something is logged at an enabled
 * level. @NOTE: Fastify makes a child logger per request (~3–10 µs); most requests log nothing.
 */
class LazyChildLogger {
  private real: FastifyBaseLogger | null = null

  constructor(
    private readonly parent: ParentLogger,
    private readonly own: Bindings,
  ) {}

  private get log(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.own))
  }

  get level(): string {
    return (this.real ?? this.parent).level
  }

  set level(level: string) {
    this.log.level = level
  }

  isLevelEnabled(level: string): boolean {
    return ((this.real ?? this.parent) as ParentLogger).isLevelEnabled(level)
  }

  private at(level: Level, args: unknown[]): void {
    if (this.isLevelEnabled(level)) (this.log[level] as LogFn)(...args)
  }

  fatal(...args: unknown[]): void {
    this.at('fatal', args)
  }
  error(...args: unknown[]): void {
    this.at('error', args)
  }
  warn(...args: unknown[]): void {
    this.at('warn', args)
  }
  info(...args: unknown[]): void {
    this.at('info', args)
  }
  debug(...args: unknown[]): void {
    this.at('debug', args)
  }
  trace(...args: unknown[]): void {
    this.at('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options)
  }

  bindings(): Bindings {
    return (this.log as unknown as { bindings(): Bindings }).bindings()
  }
}

/** Fastify's `childLoggerFactory`: per-request loggers built on first use (route log options: at once). */
export function lazyChildLogger(
  this: unknown,
  logger: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  if (opts.level || opts.serializers) return logger.child(bindings, opts)
  return new LazyChildLogger(logger as ParentLogger, bindings) as unknown as FastifyBaseLogger
}

/**
 * One compact line per request, when it completes (Fastify's default is two, each serializing the
 * request): at info `{req: {method, url}, res: {statusCode}, ms}`, at error when writing the response
 * failed (handler errors are logged by the error handler). The URL goes through the `req`
 * serializer, so signatures are redacted.
 */
export class RequestLogController extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const log = request.log as unknown as ParentLogger
    if (!log.isLevelEnabled(error ? 'error' : 'info')) return
    const line = { req: request, res: { statusCode: reply.statusCode }, ms: Math.round(reply.elapsedTime * 10) / 10 }
    if (error) log.error({ ...line, err: error }, 'response failed')
    else log.info(line, 'request')
  }
}
