import type { FastifyRequest } from 'fastify'

/** A URL of this very server as seen from this machine, for the hooks of the git processes it spawns. */
export function loopbackBase(request: FastifyRequest): string {
  let host = request.socket.localAddress ?? '127.0.0.1'
  if (host.startsWith('::ffff:')) host = host.slice(7)
  return `http://${host.includes(':') ? `[${host}]` : host}:${request.socket.localPort}`
}
