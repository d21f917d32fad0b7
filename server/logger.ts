import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'

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
