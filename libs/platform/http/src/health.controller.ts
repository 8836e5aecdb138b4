import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Readiness } from '@axon/platform-runtime';
import { Metrics } from '@axon/platform-telemetry';

/**
 * Probes and scrapes: `/health` answers while the process runs (liveness), `/ready`
 * only while every dependency answers and the process is not draining (readiness),
 * `/metrics` in the Prometheus text format.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
  ) {}

  @Get('health')
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const { ready, checks } = await this.readiness.evaluate();
    await reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  }

  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    await reply.header('content-type', contentType).send(body);
  }
}
