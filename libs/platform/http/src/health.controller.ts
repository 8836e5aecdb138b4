import { Controller, Get, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { MatrixError } from '@axon/matrix-errors';
import type { AxonConfig } from '@axon/platform-config';
import { InjectConfig, Readiness } from '@axon/platform-runtime';
import { Metrics } from '@axon/platform-telemetry';

/** An answer of the probes and the scrape: status, content type and body. */
export interface OpsAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const json = (status: number, value: unknown): OpsAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(value) });

/** `/health`: the process runs (liveness). */
export function healthAnswer(): OpsAnswer {
  return json(200, { status: 'ok' });
}

/** `/ready`: every dependency answers and the process is not draining (readiness). */
export async function readyAnswer(readiness: Readiness): Promise<OpsAnswer> {
  const { ready, checks } = await readiness.evaluate();
  return json(ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks });
}

/** `/metrics` in the Prometheus text format, or `M_UNRECOGNIZED` when `telemetry.metrics_enabled` is off. */
export async function metricsAnswer(metrics: Metrics, config: AxonConfig): Promise<OpsAnswer> {
  if (!config.telemetry.metrics_enabled) return json(404, new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404).toBody());
  const { contentType, body } = await metrics.render();
  return { status: 200, contentType, body };
}

async function send(reply: FastifyReply, answer: OpsAnswer): Promise<void> {
  await reply.status(answer.status).header('content-type', answer.contentType).send(answer.body);
}

/**
 * Probes and scrapes on the client listener, unless `listen.metrics` gives them a listener
 * of their own (metrics-listener.ts): `/health` answers while the process runs
 * (liveness), `/ready` only while every dependency answers and the process is not
 * draining (readiness), `/metrics` in the Prometheus text format (unless
 * `telemetry.metrics_enabled` is off).
 */
@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
    @InjectConfig() private readonly config: AxonConfig,
  ) {}

  @Get('health')
  async health(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, healthAnswer());
  }

  @Get('ready')
  async ready(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, await readyAnswer(this.readiness));
  }

  @Get('metrics')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await send(reply, await metricsAnswer(this.metrics, this.config));
  }
}
