import { isNamespacedIdentifier, isOpaqueIdentifier, isSpecNamespacedIdentifier } from './opaque-identifier';

describe('Opaque Identifier Grammar', () => {
  it.each([
    ['abc', true],
    ['A-Z.a_z~09', true],
    ['x'.repeat(255), true],
    ['x'.repeat(256), false],
    ['', false],
    ['a b', false],
    ['a/b', false],
    ['a:b', false],
    ['é', false],
  ])('%j: %s', (input, valid) => {
    expect(isOpaqueIdentifier(input)).toBe(valid);
  });

  it('honours a use-specific maximum length', () => {
    expect(isOpaqueIdentifier('abcd', 3)).toBe(false);
    expect(isOpaqueIdentifier('abc', 3)).toBe(true);
  });
});

describe('Common Namespaced Identifier Grammar', () => {
  it.each([
    ['m.room.message', true, true],
    ['com.example.identifier', true, false],
    ['a', true, false],
    ['a-b_c.d9', true, false],
    ['a'.repeat(255), true, false],
    ['a'.repeat(256), false, false],
    ['', false, false],
    ['9lives', false, false],
    ['.m', false, false],
    ['M.room', false, false],
    ['com.Example', false, false],
    ['com/example', false, false],
  ])('%j: valid %s, reserved to the spec %s', (input, valid, spec) => {
    expect(isNamespacedIdentifier(input)).toBe(valid);
    expect(isSpecNamespacedIdentifier(input)).toBe(spec);
  });
});
