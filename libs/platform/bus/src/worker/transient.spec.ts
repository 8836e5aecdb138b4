import { isTransientFailure } from './transient';

describe('isTransientFailure', () => {
  it('recognises an unreachable dependency', () => {
    expect(isTransientFailure(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error('could not serialize access'), { code: '40001' }))).toBe(true);
    expect(isTransientFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    // TypeORM's QueryFailedError carries the driver's error.
    expect(isTransientFailure(Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: { code: '08006' } }))).toBe(true);
    expect(isTransientFailure(new Error('publish failed', { cause: Object.assign(new Error('x'), { name: 'KafkaJSConnectionError' }) }))).toBe(true);
    expect(isTransientFailure(Object.assign(new Error('UNAVAILABLE: no ready replica'), { name: 'RpcStatusError', code: 14 }))).toBe(true);
  });

  it('leaves every other failure to the normal attempts', () => {
    expect(isTransientFailure(new Error('boom'))).toBe(false);
    expect(isTransientFailure(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isTransientFailure(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
    expect(isTransientFailure(Object.assign(new Error('NOT_FOUND'), { name: 'RpcStatusError', code: 5 }))).toBe(false);
    expect(isTransientFailure('a string')).toBe(false);
    expect(isTransientFailure(undefined)).toBe(false);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(isTransientFailure(loop)).toBe(false);
  });
});
