import { isOAuthDeviceId, isRecommendedDeviceId, parseDeviceId } from './device-id';

describe('device IDs (client-server API, "Device ID allocation")', () => {
  it.each([
    ['EGURVBUNJP', true, true],
    ['AbC-123._~', true, true],
    ['device:with#chars', true, false],
    ['with space', false, false],
    ['quote"', false, false],
    ['back\\slash', false, false],
    ['ünïcode', false, false],
  ])('%j is a device ID; OAuth scope-safe: %s; recommended: %s', (input, oauth, recommended) => {
    const result = parseDeviceId(input);
    if (!result.ok) throw new Error(result.error);
    expect(isOAuthDeviceId(result.value)).toBe(oauth);
    expect(isRecommendedDeviceId(result.value)).toBe(recommended);
  });

  it.each([
    ['', 'empty'],
    ['a\u0000b', 'NUL'],
    ['a\ud800', 'lone surrogate'],
  ])('%j is not a device ID (%s)', (input) => {
    expect(parseDeviceId(input).ok).toBe(false);
  });

  it('has no length limit: the spec gives none', () => {
    expect(parseDeviceId('D'.repeat(1000)).ok).toBe(true);
  });
});
