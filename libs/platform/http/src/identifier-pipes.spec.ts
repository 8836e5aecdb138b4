import type { ArgumentMetadata } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { RoomIdParam } from './identifier-pipes';

const param: ArgumentMetadata = { type: 'param', data: 'roomId' };

describe('RoomIdParam', () => {
  it.each(['!abc:hs.test', '!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM'])('passes %s through as a RoomId', (roomId) => {
    expect(RoomIdParam.transform(roomId, param)).toBe(roomId);
  });

  it.each(['abc:hs.test', '#alias:hs.test', '!', ''])('refuses %j with M_INVALID_PARAM', (roomId) => {
    let refusal: unknown;
    try {
      RoomIdParam.transform(roomId, param);
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(MatrixError);
    expect(refusal).toMatchObject({ errcode: 'M_INVALID_PARAM', status: 400, message: `${JSON.stringify(roomId)} is not a room ID` });
  });
});
