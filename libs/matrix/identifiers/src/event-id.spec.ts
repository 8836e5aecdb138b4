import { getEventIdFormats, getEventIdServerName, parseEventId, parseEventIdOfFormat, type EventId } from './event-id';

// The spec's examples: room version 3 and room version 4.
const V3_EXAMPLE = '$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZgrW6o';
const V4_EXAMPLE = '$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg';
const V3_ONLY = '$CD66HAED5npg6074c6pDtLKalHjVfYb2q4Q3LZg+/6o';

function parsed(input: string): EventId {
  const result = parseEventId(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.error}`);
  return result.value;
}

describe('event IDs (appendices, "Event IDs"; rooms v1, v3, v4)', () => {
  it.each([
    ['$abc123:example.org', ['v1']],
    ['$143273582443PhrSn:example.org:8448', ['v1']],
    ['$Abc/+-_!:[::1]', ['v1']],
    [V3_EXAMPLE, ['v3', 'v4']],
    [V3_ONLY, ['v3']],
    [V4_EXAMPLE, ['v4']],
  ])('%s is an event ID in format(s) %j', (input, formats) => {
    expect(getEventIdFormats(parsed(input))).toEqual(formats);
  });

  it.each([
    ['', 'empty'],
    ['$', 'sigil only'],
    ['abc:example.org', 'no sigil'],
    ['!abc:example.org', 'wrong sigil'],
    ['$:example.org', 'empty opaque part'],
    ['$abc:', 'empty domain'],
    ['$abc:example.org:', 'trailing colon'],
    ['$abc', 'neither a domain nor a hash'],
    [V4_EXAMPLE.slice(0, -1), '42 characters: not a SHA-256 hash'],
    [`${V4_EXAMPLE}A`, '44 characters'],
    [`${V3_EXAMPLE}=`, 'padded'],
    ['$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zh', 'non-canonical: spare bits set'],
    ['$Rqnc-F-dvnEYJTyHq_iKxU2bZ1CI92+kuZq3a5lr5Zg', 'mixes both alphabets'],
    ['$Rqnc F-dvnEYJTyHq_iKxU2bZ1CI92-kuZq3a5lr5Zg', 'space'],
    [`$${'a'.repeat(250)}:example.org`, 'over 255 bytes'],
  ])('%j is not an event ID (%s)', (input) => {
    expect(parseEventId(input).ok).toBe(false);
  });

  it.each([
    ['$abc:example.org', 'v1', true],
    ['$abc:example.org', 'v3', false],
    ['$abc:example.org', 'v4', false],
    [V3_ONLY, 'v1', false],
    [V3_ONLY, 'v3', true],
    [V3_ONLY, 'v4', false],
    [V4_EXAMPLE, 'v3', false],
    [V4_EXAMPLE, 'v4', true],
    [V3_EXAMPLE, 'v3', true],
    [V3_EXAMPLE, 'v4', true],
  ] as const)('%s in format %s: %s', (input, format, valid) => {
    expect(parseEventIdOfFormat(input, format).ok).toBe(valid);
  });

  it('has a server name only in the v1 format', () => {
    expect(getEventIdServerName(parsed('$abc:example.org:8448'))).toBe('example.org:8448');
    expect(getEventIdServerName(parsed(V4_EXAMPLE))).toBeUndefined();
  });

  it('accepts a 255-byte v1 event ID with a multibyte opaque part and refuses 256', () => {
    const fixed = '$:example.org'.length;
    const at255 = `$${'é'.repeat((255 - fixed) / 2)}:example.org`;
    expect(new TextEncoder().encode(at255).length).toBe(255);
    expect(parseEventId(at255).ok).toBe(true);
    expect(parseEventId(`$a${at255.slice(1)}`).ok).toBe(false);
  });
});
