import type { FastifyRequest } from 'fastify';
import { accessTokenOf } from './access-token';

const request = (authorization: string | undefined, query: Record<string, unknown> = {}): Pick<FastifyRequest, 'headers' | 'query'> => ({
  headers: authorization === undefined ? {} : { authorization },
  query,
});

describe('accessTokenOf', () => {
  it('reads a Bearer Authorization header, whatever the scheme\'s case', () => {
    expect(accessTokenOf(request('Bearer syt_abc'))).toBe('syt_abc');
    expect(accessTokenOf(request('bearer syt_abc  '))).toBe('syt_abc');
  });

  it('falls back to the access_token query parameter', () => {
    expect(accessTokenOf(request(undefined, { access_token: 'syt_q' }))).toBe('syt_q');
    // A header that is not a Bearer token is not a token; the parameter still is.
    expect(accessTokenOf(request('Basic dXNlcjpwYXNz', { access_token: 'syt_q' }))).toBe('syt_q');
  });

  it('finds none in a malformed header, an empty or non-string parameter, or nothing', () => {
    expect(accessTokenOf(request('Bearer'))).toBeUndefined();
    expect(accessTokenOf(request('Bearer two tokens'))).toBeUndefined();
    expect(accessTokenOf(request(undefined, { access_token: '' }))).toBeUndefined();
    expect(accessTokenOf(request(undefined, { access_token: ['a', 'b'] }))).toBeUndefined();
    expect(accessTokenOf(request(undefined))).toBeUndefined();
  });
});
