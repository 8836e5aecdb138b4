import { MatrixError, defaultStatus, limitExceeded } from './matrix-error';

describe('MatrixError', () => {
  it('serialises to the standard error response', () => {
    const err = new MatrixError('M_FORBIDDEN', 'You are not invited to this room.');
    expect(err.status).toBe(403);
    expect(err.toBody()).toEqual({ errcode: 'M_FORBIDDEN', error: 'You are not invited to this room.' });
  });

  it('carries retry_after_ms for M_LIMIT_EXCEEDED as in the spec example', () => {
    expect(limitExceeded(2000).toBody()).toEqual({
      errcode: 'M_LIMIT_EXCEEDED',
      error: 'Too many requests',
      retry_after_ms: 2000,
    });
    expect(limitExceeded(2000).status).toBe(429);
  });

  it('never lets extras override errcode or error', () => {
    const err = new MatrixError('M_UNKNOWN_TOKEN', 'Soft logged out', 401, { soft_logout: true, errcode: 'X' });
    expect(err.toBody()).toEqual({ errcode: 'M_UNKNOWN_TOKEN', error: 'Soft logged out', soft_logout: true });
  });

  it.each([
    ['M_NOT_FOUND', 404],
    ['M_UNRECOGNIZED', 404],
    ['M_MISSING_TOKEN', 401],
    ['M_BAD_JSON', 400],
    ['M_TOO_LARGE', 413],
  ] as const)('%s defaults to HTTP %i', (code, status) => {
    expect(defaultStatus(code)).toBe(status);
  });

  it('recognises errcodes', () => {
    expect(MatrixError.isErrcode('M_FORBIDDEN')).toBe(true);
    expect(MatrixError.isErrcode('M_NOPE')).toBe(false);
  });
});
