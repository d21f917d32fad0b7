import type { FastifyInstance } from 'fastify'

/** HEAD/GET /api/telemetry/… (docs/hub-api.md §11): accepted and dropped; nothing is recorded. */
export function telemetryRoute(app: FastifyInstance) {
  app.route({ method: ['GET', 'HEAD', 'POST'], url: '/api/telemetry/*', handler: async (_req, reply) => reply.code(200).send() })
}
