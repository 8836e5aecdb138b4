import { createInProcessCache } from '@axon/platform-cache';
import type { AxonConfig } from '@axon/platform-config';
import { MatrixError } from '@axon/matrix-errors';
import { canAttemptStage, isAuthComplete, isOfferedStage, type UiaFlow } from './uia';
import { UiaRequired, UiaService, type StageResult } from './uia.service';

const FLOWS: UiaFlow[] = [{ stages: ['a', 'b'] }, { stages: ['a', 'c'] }, { stages: ['d'] }];

describe('UIA state machine', () => {
  it.each([
    [[], 'a', true],
    [[], 'd', true],
    [[], 'b', false],
    [['a'], 'b', true],
    [['a'], 'c', true],
    [['a'], 'd', false],
    [['a', 'b'], 'c', false],
    [['d'], 'a', false],
  ])('after %j, stage %s may be attempted: %s', (completed, stage, expected) => {
    expect(canAttemptStage(FLOWS, completed, stage)).toBe(expected);
  });

  it.each([
    [[], false],
    [['a'], false],
    [['a', 'b'], true],
    [['a', 'c'], true],
    [['d'], true],
    [['b', 'a'], false],
  ])('completed %j is a whole flow: %s', (completed, expected) => {
    expect(isAuthComplete(FLOWS, completed)).toBe(expected);
  });

  it('knows which stages are offered', () => {
    expect(isOfferedStage(FLOWS, 'c')).toBe(true);
    expect(isOfferedStage(FLOWS, 'm.login.dummy')).toBe(false);
  });
});

describe('UiaService', () => {
  const config = { auth: { uia_session_lifetime_ms: 60_000 } } as unknown as AxonConfig;
  const cache = createInProcessCache();
  const service = new UiaService(config, cache);
  afterAll(() => cache.close());

  const verify = async (stage: string, auth: Readonly<Record<string, unknown>>): Promise<StageResult> =>
    auth['secret'] === 'ok' ? { ok: true, data: { [stage]: 'done' } } : { ok: false, errcode: 'M_FORBIDDEN', error: 'bad secret' };
  const round = (auth: unknown, operation = 'op', userId?: string) =>
    service.authenticate({ operation, userId, flows: [{ stages: ['x', 'y'] }], auth, verify });
  async function required(promise: Promise<unknown>): Promise<UiaRequired['body']> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UiaRequired);
    return (error as UiaRequired).body;
  }

  it('walks a two-stage flow, reporting completed stages, then consumes the session', async () => {
    const first = await required(round(undefined));
    expect(first).toEqual({ flows: [{ stages: ['x', 'y'] }], params: {}, session: first.session, completed: [] });
    const failed = await required(round({ type: 'x', session: first.session, secret: 'no' }));
    expect(failed).toMatchObject({ errcode: 'M_FORBIDDEN', error: 'bad secret', session: first.session, completed: [] });
    const outOfOrder = await required(round({ type: 'y', session: first.session, secret: 'ok' }));
    expect(outOfOrder).toMatchObject({ errcode: 'M_FORBIDDEN', completed: [] });
    const half = await required(round({ type: 'x', session: first.session, secret: 'ok' }));
    expect(half).toEqual({ flows: [{ stages: ['x', 'y'] }], params: {}, session: first.session, completed: ['x'] });
    await expect(round({ type: 'y', session: first.session, secret: 'ok' })).resolves.toEqual({ x: 'done', y: 'done' });
    // Completed authentication authorises one request: the session is gone.
    const again = await required(round({ type: 'y', session: first.session, secret: 'ok' }));
    expect(again.session).not.toBe(first.session);
    expect(again.completed).toEqual([]);
  });

  it('never lets a session serve another operation or user', async () => {
    const { session } = await required(round(undefined, 'op', '@a:hs'));
    await required(round({ type: 'x', session, secret: 'ok' }, 'op', '@a:hs'));
    const otherUser = await required(round({ session }, 'op', '@b:hs'));
    expect(otherUser.session).not.toBe(session);
    const otherOp = await required(round({ session }, 'other', '@a:hs'));
    expect(otherOp.session).not.toBe(session);
    expect((await required(round({ session }, 'op', '@a:hs'))).completed).toEqual(['x']);
  });

  it('refuses unknown stage types and malformed auth with plain errors', async () => {
    await expect(round({ type: 'm.login.unknown' })).rejects.toMatchObject({ errcode: 'M_UNRECOGNIZED', status: 400 });
    await expect(round('nope')).rejects.toBeInstanceOf(MatrixError);
  });
});
