import { parseEventId } from './event-id';
import {
  deriveRoomIdFromCreateEventId,
  getCreateEventIdOfRoomId,
  getRoomIdFormat,
  getRoomIdServerName,
  parseRoomId,
  type RoomId,
} from './room-id';

const HASH = 'Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg';

function parsed(input: string): RoomId {
  const result = parseRoomId(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.error}`);
  return result.value;
}

describe('room IDs (appendices, "Room IDs"; rooms v12)', () => {
  it.each([
    ['!abcdef:example.org', 'domain', 'example.org'],
    ['!OGEhHVWSdvArJzumhm:matrix.org', 'domain', 'matrix.org'],
    ['!a:[1234:5678::abcd]:5678', 'domain', '[1234:5678::abcd]:5678'],
    ['!ünïcödé\u0007:example.org', 'domain', 'example.org'],
    [`!${HASH}`, 'hash', undefined],
  ])('%s is a room ID in the %s form, server %s', (input, format, server) => {
    const id = parsed(input);
    expect(getRoomIdFormat(id)).toBe(format);
    expect(getRoomIdServerName(id)).toBe(server);
  });

  it.each([
    ['', 'empty'],
    ['!', 'sigil only'],
    ['abc:example.org', 'no sigil'],
    ['$abc:example.org', 'wrong sigil'],
    ['!:example.org', 'empty opaque part'],
    ['!abc:', 'empty domain'],
    ['!abc:example.org:', 'trailing colon'],
    ['!abc:exa mple.org', 'invalid domain'],
    ['!a\u0000b:example.org', 'NUL'],
    ['!abc', 'no domain and not a hash'],
    [`!${HASH.slice(0, -1)}`, 'hash too short'],
    ['!CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZg+/6o', 'standard-alphabet hash: v12 uses URL-safe base64'],
    [`!${HASH}=`, 'padded hash'],
    [`!${'a'.repeat(243)}:example.org`, '256 bytes'],
  ])('%j is not a room ID (%s)', (input) => {
    expect(parseRoomId(input).ok).toBe(false);
  });

  it('accepts exactly 255 bytes in the domain form', () => {
    expect(parseRoomId(`!${'a'.repeat(242)}:example.org`).ok).toBe(true);
    expect(parseRoomId(`!${'é'.repeat(121)}:example.org`).ok).toBe(true);
    expect(parseRoomId(`!a${'é'.repeat(121)}:example.org`).ok).toBe(false);
  });

  it('in room version 12, is the create event ID with "!" for "$", and back', () => {
    const createEventId = parseEventId(`$${HASH}`);
    if (!createEventId.ok) throw new Error(createEventId.error);
    const roomId = deriveRoomIdFromCreateEventId(createEventId.value);
    expect(roomId).toEqual({ ok: true, value: `!${HASH}` });
    expect(getCreateEventIdOfRoomId(parsed(`!${HASH}`))).toBe(`$${HASH}`);
    expect(getCreateEventIdOfRoomId(parsed('!abc:example.org'))).toBeUndefined();
  });

  it('derives no room ID from a create event ID outside the URL-safe format', () => {
    const v1 = parseEventId('$abc:example.org');
    if (!v1.ok) throw new Error(v1.error);
    expect(deriveRoomIdFromCreateEventId(v1.value).ok).toBe(false);
  });
});
