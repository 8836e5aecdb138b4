import { MatrixError } from '@axon/matrix-errors';
import { objectBody, optionalBoolean, optionalString, requiredString } from './request-body';

function refusal(read: () => unknown): { errcode: string; status: number } | undefined {
  try {
    read();
    return undefined;
  } catch (error) {
    if (!(error instanceof MatrixError)) throw error;
    return { errcode: error.errcode, status: error.status };
  }
}

describe('request bodies', () => {
  it.each([
    ['an absent body', undefined, {}],
    ['an object', { a: 1 }, { a: 1 }],
  ])('reads %s as an object', (_name, body, expected) => {
    expect(objectBody(body)).toEqual(expected);
  });

  it.each([
    ['null', null],
    ['an array', [1]],
    ['a string', 'x'],
    ['a number', 3],
  ])('refuses %s as M_BAD_JSON', (_name, body) => {
    expect(refusal(() => objectBody(body))).toEqual({ errcode: 'M_BAD_JSON', status: 400 });
  });

  it('reads optional and required fields by type, absent and null alike', () => {
    const body = { s: 'text', b: false, n: null, wrong: 1 };
    expect(optionalString(body, 's')).toBe('text');
    expect(optionalString(body, 'n')).toBeUndefined();
    expect(optionalString(body, 'missing')).toBeUndefined();
    expect(optionalBoolean(body, 'b')).toBe(false);
    expect(requiredString(body, 's')).toBe('text');
    expect(refusal(() => optionalString(body, 'wrong'))).toEqual({ errcode: 'M_BAD_JSON', status: 400 });
    expect(refusal(() => optionalBoolean(body, 's'))).toEqual({ errcode: 'M_BAD_JSON', status: 400 });
    expect(refusal(() => requiredString(body, 'n'))).toEqual({ errcode: 'M_MISSING_PARAM', status: 400 });
  });
});
