import { bytesCodec, jsonCodec } from './codec';

describe('jsonCodec', () => {
  it('round-trips JSON as UTF-8', () => {
    const codec = jsonCodec<{ body: string; n: number }>();
    const bytes = codec.encode({ body: 'héllo ☃', n: 3 });
    expect(Buffer.from(bytes).toString('utf8')).toBe('{"body":"héllo ☃","n":3}');
    expect(codec.decode(bytes)).toEqual({ body: 'héllo ☃', n: 3 });
  });

  it('fails to decode invalid UTF-8 and invalid JSON', () => {
    const codec = jsonCodec<unknown>();
    expect(() => codec.decode(Uint8Array.from([0xff, 0xfe]))).toThrow();
    expect(() => codec.decode(Buffer.from('{not json', 'utf8'))).toThrow(SyntaxError);
  });

  it('runs the validator on decode', () => {
    const codec = jsonCodec<{ room_id: string }>((value) => {
      if (typeof value !== 'object' || value === null || typeof (value as { room_id?: unknown }).room_id !== 'string') {
        throw new TypeError('room_id missing');
      }
      return value as { room_id: string };
    });
    expect(codec.decode(Buffer.from('{"room_id":"!r:x"}'))).toEqual({ room_id: '!r:x' });
    expect(() => codec.decode(Buffer.from('{"room":"!r:x"}'))).toThrow('room_id missing');
  });

  it('refuses values JSON cannot represent', () => {
    expect(() => jsonCodec<() => void>().encode(() => undefined)).toThrow(/not JSON-serialisable/);
  });
});

describe('bytesCodec', () => {
  it('passes canonical-JSON bytes through untouched', () => {
    // Key order and spacing matter for signatures: the codec must not re-serialise.
    const pdu = Buffer.from('{"b":1,"a":"\\u00e9"}', 'utf8');
    expect(Buffer.from(bytesCodec.decode(bytesCodec.encode(pdu))).equals(pdu)).toBe(true);
  });
});
