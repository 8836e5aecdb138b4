import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig, Readiness } from '@axon/platform-runtime';
import { Metrics } from '@axon/platform-telemetry';

/**
 * Probes and scrapes: `/health` answers while the process runs (liveness), `/ready`
 * only while every dependency answers and the process is not draining (readiness),
 * `/metrics` in the Prometheus text format (unless `telemetry.metrics_enabled` is off).
 */
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AxonConfig,
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
    if (!this.config.telemetry.metrics_enabled) throw new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404);
    const { contentType, body } = await this.metrics.render();
    await reply.header('content-type', contentType).send(body);
  }
}
