import { isPermanentFailure, isTransientFailure, PermanentFailure } from './failures';

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

describe('isPermanentFailure', () => {
  it('recognises input that no retry can store or handle, by class', () => {
    expect(isPermanentFailure(new PermanentFailure('not an event'))).toBe(true);
    expect(isPermanentFailure(new Error('wrapped', { cause: new PermanentFailure('not an event') }))).toBe(true);
    // invalid byte sequence for encoding "UTF8": 0x00, through TypeORM.
    expect(isPermanentFailure(Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: { code: '22021' } }))).toBe(true);
    expect(isPermanentFailure(Object.assign(new Error('value out of range'), { code: '22003' }))).toBe(true);
    expect(isPermanentFailure(Object.assign(new Error('null value in column'), { code: '23502' }))).toBe(true);
    expect(isPermanentFailure(Object.assign(new Error('check constraint'), { code: '23514' }))).toBe(true);
  });

  it('leaves races, outages and unknown failures to the retries', () => {
    expect(isPermanentFailure(Object.assign(new Error('duplicate key value'), { code: '23505' }))).toBe(false);
    expect(isPermanentFailure(Object.assign(new Error('foreign key'), { code: '23503' }))).toBe(false);
    expect(isPermanentFailure(Object.assign(new Error('could not serialize access'), { code: '40001' }))).toBe(false);
    expect(isPermanentFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    // The message text says nothing: only the class counts.
    expect(isPermanentFailure(new Error('invalid byte sequence for encoding "UTF8": 0x00'))).toBe(false);
    expect(isPermanentFailure(new Error('boom'))).toBe(false);
    expect(isPermanentFailure(undefined)).toBe(false);
    // An outage that wraps a data error is still an outage.
    expect(isPermanentFailure(Object.assign(new Error('lost'), { code: 'ECONNRESET', cause: new PermanentFailure('x') }))).toBe(false);
  });
});
