import type { PipeTransform } from '@nestjs/common';
import { MatrixError, type Result } from '@axon/matrix-errors';
import { parseRoomId, type RoomId } from '@axon/matrix-identifiers';

/**
 * A pipe that parses a path parameter once, at the HTTP edge, into the branded identifier
 * `parse` makes (`@Param('roomId', RoomIdParam) roomId: RoomId`); a malformed one is
 * `M_INVALID_PARAM`.
 */
export function parsedParam<T>(parse: (input: string) => Result<T>, what: string): PipeTransform<string, T> {
  return {
    transform(value: string): T {
      const parsed = parse(value);
      if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(value)} is not a ${what}`, 400);
      return parsed.value;
    },
  };
}

export const RoomIdParam: PipeTransform<string, RoomId> = parsedParam(parseRoomId, 'room ID');
