import { LogController, type FastifyReply, type FastifyRequest } from 'fastify'
import { isProbe } from './probes.js'

/**
 * Fastify's request lines, except for probes and scrapes: they come every few seconds, so each is one line at debug
 * instead of two at info, which would be most of the log.
 */
export class ProbeQuietLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (!isProbe(request.url)) super.incomingRequest(request, reply)
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error || !isProbe(request.url)) return super.requestCompleted(error, request, reply)
    reply.log.debug({ req: request, res: reply, responseTime: reply.elapsedTime }, 'probe')
  }
}
