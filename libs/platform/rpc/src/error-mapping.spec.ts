import { MatrixError, limitExceeded } from '@axon/matrix-errors';
import {
  ERRCODE_TRAILER,
  INTERNAL_ERROR_MESSAGE,
  matrixErrorFromStatus,
  statusFromError,
} from './error-mapping';
import { RpcStatus, RpcStatusError } from './status';

const PATH = '/hs.roomserver.v1.RoomQuery/GetState';

describe('MatrixError to gRPC status', () => {
  it.each([
    ['M_NOT_FOUND', RpcStatus.NOT_FOUND],
    ['M_FORBIDDEN', RpcStatus.PERMISSION_DENIED],
    ['M_UNKNOWN_TOKEN', RpcStatus.UNAUTHENTICATED],
    ['M_MISSING_TOKEN', RpcStatus.UNAUTHENTICATED],
    ['M_LIMIT_EXCEEDED', RpcStatus.RESOURCE_EXHAUSTED],
    ['M_BAD_JSON', RpcStatus.INVALID_ARGUMENT],
    ['M_INVALID_PARAM', RpcStatus.INVALID_ARGUMENT],
    ['M_MISSING_PARAM', RpcStatus.INVALID_ARGUMENT],
    ['M_USER_IN_USE', RpcStatus.ALREADY_EXISTS],
    ['M_BAD_STATE', RpcStatus.FAILED_PRECONDITION],
    ['M_UNRECOGNIZED', RpcStatus.UNIMPLEMENTED],
    ['M_UNKNOWN', RpcStatus.INTERNAL],
  ] as const)('%s travels as %s', (errcode, code) => {
    const status = statusFromError(new MatrixError(errcode, 'message'));
    expect(RpcStatus[status.code]).toBe(RpcStatus[code]);
    expect(status.trailers[ERRCODE_TRAILER]).toBe(errcode);
  });

  it('comes back equal, extras and non-default status included', () => {
    for (const error of [limitExceeded(250), new MatrixError('M_FORBIDDEN', 'no', 418, { a: [1, 'ü'] })]) {
      const back = matrixErrorFromStatus(statusFromError(error), PATH);
      expect([back.errcode, back.message, back.status, back.extras]).toEqual([
        error.errcode,
        error.message,
        error.status,
        error.extras,
      ]);
    }
  });

  it('reduces any other error to INTERNAL without its message', () => {
    const status = statusFromError(new TypeError('secret detail'));
    expect(status.code).toBe(RpcStatus.INTERNAL);
    expect(status.details).toBe(INTERNAL_ERROR_MESSAGE);
    expect(JSON.stringify(status.trailers)).not.toContain('secret');
  });
});

describe('gRPC status without Axon trailers (transport failures)', () => {
  it.each([
    [RpcStatus.DEADLINE_EXCEEDED, 504, 'deadline exceeded'],
    [RpcStatus.UNAVAILABLE, 503, 'service unavailable'],
    [RpcStatus.CANCELLED, 499, 'cancelled'],
    [RpcStatus.UNIMPLEMENTED, 501, 'not implemented by the server'],
    [RpcStatus.RESOURCE_EXHAUSTED, 500, 'failed with RESOURCE_EXHAUSTED'],
  ])('status %i becomes M_UNKNOWN %i', (code, http, wording) => {
    const error = matrixErrorFromStatus(new RpcStatusError(code, 'connect ECONNREFUSED 10.0.0.7:50051'), PATH);
    expect([error.errcode, error.status, error.message]).toEqual([
      'M_UNKNOWN',
      http,
      `hs.roomserver.v1.RoomQuery/GetState: ${wording}`,
    ]);
  });

  it('ignores trailers a foreign server got wrong', () => {
    const status = new RpcStatusError(RpcStatus.NOT_FOUND, 'gone', {
      [ERRCODE_TRAILER]: 'M_NOT_FOUND',
      'x-axon-http-status': 'abc',
      'x-axon-error-extras-bin': '{not json',
    });
    const error = matrixErrorFromStatus(status, PATH);
    expect([error.errcode, error.status, error.extras]).toEqual(['M_NOT_FOUND', 404, {}]);
    const unknownCode = matrixErrorFromStatus(new RpcStatusError(RpcStatus.NOT_FOUND, 'x', { [ERRCODE_TRAILER]: 'M_NOPE' }), PATH);
    expect(unknownCode.errcode).toBe('M_UNKNOWN');
  });
});
