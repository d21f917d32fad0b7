import zlib from 'node:zlib'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { acceptsGzip } from '../protocol/accept-encoding.js'
import { JSON_TYPE, type CachedBody } from './response-cache.js'

/** Below this, a JSON answer fits a few segments anyway; gzip would only add a header. */
const MIN_GZIP = 4096

/**
 * Sends a cached JSON answer, gzipped when the client accepts it (requests, httpx and undici's
 * fetch all send `Accept-Encoding: gzip, deflate`). A big answer (10,000 siblings: 294 KiB)
 * shrinks about tenfold, and writing it to the socket was most of its cost. The gzip copy is
 * made once per cached body, on the thread pool, the first time a client asks; until it is
 * ready that client gets the plain body, so no request waits for compression.
 */
export function sendCachedJson(request: FastifyRequest, reply: FastifyReply, entry: CachedBody): FastifyReply {
  reply.type(JSON_TYPE)
  if (entry.body.byteLength < MIN_GZIP) return reply.send(entry.body)
  reply.header('Vary', 'Accept-Encoding')
  if (acceptsGzip(request.headers['accept-encoding'])) {
    if (entry.gzip) return reply.header('Content-Encoding', 'gzip').send(entry.gzip)
    if (!entry.gzipping) {
      entry.gzipping = true
      // A failure (there is none short of memory) leaves the body served plain.
      zlib.gzip(entry.body, (err, gz) => {
        if (!err) entry.gzip = gz
      })
    }
  }
  return reply.send(entry.body)
}
