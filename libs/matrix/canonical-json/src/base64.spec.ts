import fc from 'fast-check';
import { decodeBase64, decodeUrlSafeBase64, encodeUnpaddedBase64, encodeUrlSafeUnpaddedBase64 } from './base64';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('unpadded Base64 (appendices#unpadded-base64)', () => {
  // The spec's own table.
  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('UNPADDED_BASE64(%j) = %j', (input, encoded) => {
    expect(encodeUnpaddedBase64(utf8(input))).toBe(encoded);
    expect(decodeBase64(encoded)).toEqual({ ok: true, value: utf8(input) });
  });

  it.each([
    ['Zg==', 'f'],
    ['Zm8=', 'fo'],
    ['Zm9vYg==', 'foob'],
  ])('accepts padded input %j', (padded, bytes) => {
    expect(decodeBase64(padded)).toEqual({ ok: true, value: utf8(bytes) });
  });

  it('decodes the spec signing key seed to 32 bytes', () => {
    const seed = decodeBase64('YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1');
    expect(seed.ok && seed.value.length).toBe(32);
  });

  it.each([
    ['Z', 'invalid_length'],
    ['Zm9vY', 'invalid_length'],
    ['Zg=', 'invalid_length'],
    ['Z===', 'invalid_length'],
    ['Zg==Zg==', 'invalid_length'],
    ['Zm9\n', 'invalid_character'],
    ['Zm 9', 'invalid_character'],
    ['Zm9-', 'invalid_character'],
    ['Zm9_', 'invalid_character'],
    ['Zm9é', 'invalid_character'],
  ])('refuses %j (%s) without throwing', (text, code) => {
    const result = decodeBase64(text);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe(code);
  });

  it('uses - and _ in the URL-safe alphabet and refuses + and /', () => {
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf]);
    expect(encodeUnpaddedBase64(bytes)).toBe('+/+/');
    expect(encodeUrlSafeUnpaddedBase64(bytes)).toBe('-_-_');
    expect(decodeUrlSafeBase64('-_-_')).toEqual({ ok: true, value: bytes });
    expect(decodeUrlSafeBase64('+/+/').ok).toBe(false);
  });

  it('round-trips random bytes in both alphabets, with and without padding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const standard = encodeUnpaddedBase64(bytes);
        const urlSafe = encodeUrlSafeUnpaddedBase64(bytes);
        expect(standard).not.toContain('=');
        expect(decodeBase64(standard)).toEqual({ ok: true, value: bytes });
        expect(decodeUrlSafeBase64(urlSafe)).toEqual({ ok: true, value: bytes });
        const padded = standard + '='.repeat((4 - (standard.length % 4)) % 4);
        expect(decodeBase64(padded)).toEqual({ ok: true, value: bytes });
      }),
    );
  });
});
