import { Catch, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { getJson, setJson, type CacheClient } from '@axon/platform-cache';
import { InjectCache, InjectConfig } from '@axon/platform-runtime';
import { canAttemptStage, isAuthComplete, isOfferedStage, type UiaFlow, type UiaResponseBody } from './uia';

/** A 401 that carries the UIA state (flows, session, completed) instead of a plain error. */
export class UiaRequired extends Error {
  constructor(readonly body: UiaResponseBody) {
    super(body.error ?? 'Additional authentication required');
  }
}

/** Sends {@link UiaRequired} as the spec's 401 body; controllers that use UIA register it. */
@Catch(UiaRequired)
export class UiaRequiredFilter implements ExceptionFilter {
  catch(exception: UiaRequired, host: ArgumentsHost): void {
    void host.switchToHttp().getResponse<FastifyReply>().status(401).header('content-type', 'application/json').send(exception.body);
  }
}

/** A stage's verdict: passed (with data to keep in the session), or failed with the spec's error. */
export type StageResult = { readonly ok: true; readonly data?: Record<string, string> } | { readonly ok: false; readonly errcode: string; readonly error: string };

export interface UiaRequest {
  /** Binds the session to one operation ("POST /register"); a session never authorises another. */
  readonly operation: string;
  /** The authenticated user the session belongs to, when there is one. */
  readonly userId?: string | undefined;
  readonly flows: readonly UiaFlow[];
  readonly params?: Readonly<Record<string, unknown>>;
  /** The request body's `auth` dictionary, as the client sent it. */
  readonly auth: unknown;
  /** Checks one stage's submitted data. */
  readonly verify: (stage: string, auth: Readonly<Record<string, unknown>>) => Promise<StageResult>;
}

const sessionSchema = z.object({
  operation: z.string(),
  userId: z.string().nullable(),
  completed: z.array(z.string()),
  data: z.record(z.string(), z.string()),
});
type UiaSession = z.infer<typeof sessionSchema>;

/**
 * User-interactive authentication sessions, kept in the shared TTL cache so any replica
 * can continue a session another one started. A session is deleted when its flow
 * completes: completed authentication authorises one request.
 */
@Injectable()
export class UiaService {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    @InjectCache() private readonly cache: CacheClient,
  ) {}

  /**
   * Runs one UIA round for the request. Resolves with the session's stage data when a
   * flow is complete; otherwise throws {@link UiaRequired} (401) or a `MatrixError`.
   */
  async authenticate(request: UiaRequest): Promise<Readonly<Record<string, string>>> {
    const auth = request.auth;
    if (auth !== undefined && auth !== null && (typeof auth !== 'object' || Array.isArray(auth))) {
      throw new MatrixError('M_BAD_JSON', '"auth" must be an object', 400);
    }
    const dict = (auth ?? {}) as Record<string, unknown>;
    const sessionId = typeof dict['session'] === 'string' ? dict['session'] : undefined;
    let id = sessionId;
    let session = id === undefined ? undefined : await this.load(id);
    if (session && (session.operation !== request.operation || session.userId !== (request.userId ?? null))) session = undefined;
    if (!session || id === undefined) {
      id = randomBytes(18).toString('base64url');
      session = { operation: request.operation, userId: request.userId ?? null, completed: [], data: {} };
      await this.save(id, session);
    }

    const type = dict['type'];
    if (typeof type === 'string' && !session.completed.includes(type)) {
      if (!isOfferedStage(request.flows, type)) throw new MatrixError('M_UNRECOGNIZED', `Unsupported authentication type ${type}`, 400);
      if (!canAttemptStage(request.flows, session.completed, type)) {
        throw this.required(request, id, session, { errcode: 'M_FORBIDDEN', error: `${type} is not the next stage of any flow` });
      }
      const result = await request.verify(type, dict);
      if (!result.ok) throw this.required(request, id, session, result);
      session = { ...session, completed: [...session.completed, type], data: { ...session.data, ...result.data } };
      await this.save(id, session);
    }

    if (!isAuthComplete(request.flows, session.completed)) throw this.required(request, id, session);
    await this.cache.cache.delete(this.key(id));
    return session.data;
  }

  private required(request: UiaRequest, session: string, state: UiaSession, failure?: { errcode: string; error: string }): UiaRequired {
    return new UiaRequired({
      ...(failure ? { errcode: failure.errcode, error: failure.error } : {}),
      flows: request.flows,
      params: request.params ?? {},
      session,
      completed: state.completed,
    });
  }

  private key(id: string): string {
    return `client_api:uia:${id}`;
  }

  private load(id: string): Promise<UiaSession | undefined> {
    return getJson(this.cache.cache, this.key(id), (v) => sessionSchema.parse(v));
  }

  private save(id: string, session: UiaSession): Promise<void> {
    return setJson(this.cache.cache, this.key(id), session, this.config.auth.uia_session_lifetime_ms);
  }
}
