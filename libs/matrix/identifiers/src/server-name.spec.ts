import { isIpv6Address, parseServerName, splitServerName, type ServerName } from './server-name';

function parsed(input: string): ServerName {
  const result = parseServerName(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.error}`);
  return result.value;
}

describe('server names (appendices, "Server Name")', () => {
  it.each([
    // The spec's own examples.
    ['matrix.org', 'dns', 'matrix.org', undefined],
    ['matrix.org:8888', 'dns', 'matrix.org', 8888],
    ['1.2.3.4', 'ipv4', '1.2.3.4', undefined],
    ['1.2.3.4:1234', 'ipv4', '1.2.3.4', 1234],
    ['[1234:5678::abcd]', 'ipv6', '1234:5678::abcd', undefined],
    ['[1234:5678::abcd]:5678', 'ipv6', '1234:5678::abcd', 5678],
    // Edge cases.
    ['localhost', 'dns', 'localhost', undefined],
    ['[::1]:8448', 'ipv6', '::1', 8448],
    ['[::]', 'ipv6', '::', undefined],
    ['[::ffff:192.0.2.1]', 'ipv6', '::ffff:192.0.2.1', undefined],
    ['[1:2:3:4:5:6:7:8]', 'ipv6', '1:2:3:4:5:6:7:8', undefined],
    ['[1:2:3:4:5:6:1.2.3.4]:443', 'ipv6', '1:2:3:4:5:6:1.2.3.4', 443],
    ['[ABCD:ef01::]', 'ipv6', 'ABCD:ef01::', undefined],
    ['example.com:1', 'dns', 'example.com', 1],
    ['example.com:65535', 'dns', 'example.com', 65535],
    ['example.com:08448', 'dns', 'example.com', 8448],
    ['MATRIX.ORG', 'dns', 'MATRIX.ORG', undefined],
    ['my-server.example', 'dns', 'my-server.example', undefined],
    ['0.0.0.0', 'ipv4', '0.0.0.0', undefined],
    ['255.255.255.255', 'ipv4', '255.255.255.255', undefined],
    ['1.2.3.4.example', 'dns', '1.2.3.4.example', undefined],
    ['a'.repeat(255), 'dns', 'a'.repeat(255), undefined],
  ])('%s is a valid server name (%s host %s, port %s)', (input, kind, host, port) => {
    expect(splitServerName(parsed(input))).toEqual({ kind, host, port });
  });

  it.each([
    ['', 'empty'],
    [':8448', 'empty hostname'],
    ['matrix.org:', 'trailing colon, empty port'],
    ['matrix.org:0', 'port 0 cannot be reached'],
    ['matrix.org:65536', 'port out of range'],
    ['matrix.org:123456', 'port longer than 5 digits'],
    ['matrix.org:-1', 'negative port'],
    ['matrix.org:80:80', 'two ports'],
    ['matrix.org:http', 'non-numeric port'],
    ['matrix_org', 'underscore is not a dns-char'],
    ['matrix.org/', 'slash'],
    ['mätrix.org', 'non-ASCII'],
    ['matrix..org', 'empty label'],
    ['.matrix.org', 'leading dot'],
    ['matrix.org.', 'trailing dot'],
    ['a'.repeat(256), 'DNS name over 255 characters'],
    ['256.1.1.1', 'IPv4 number above 255'],
    ['1.2.3', 'digits and dots but not a dotted quad'],
    ['1.2.3.4.5', 'five numbers'],
    ['1234.1.1.1', 'four digits'],
    ['1:2:3:4:5:6:7:8', 'IPv6 without brackets'],
    ['[::1', 'missing closing bracket'],
    ['[::1]8448', 'no colon before the port'],
    ['[::1]:', 'trailing colon after IPv6'],
    ['[]', 'empty IPv6'],
    ['[1:2:3:4:5:6:7:8:9]', 'too many groups'],
    ['[1:2:3:4:5:6:7]', 'too few groups without ::'],
    ['[1:2:3:4::5:6:7:8]', ':: with eight explicit groups'],
    ['[1::2::3]', 'two ::'],
    ['[1:::2]', 'triple colon'],
    ['[1:2:3:4:5:6:7:]', 'trailing single colon'],
    ['[:1:2:3:4:5:6:7]', 'leading single colon'],
    ['[12345::]', 'group of five digits'],
    ['[::g]', 'non-hex digit'],
    ['[::1.2.3.256]', 'embedded IPv4 out of range'],
    ['[1.2.3.4::]', 'embedded IPv4 not last'],
    ['[1:2:3:4:5:6:7:1.2.3.4]', 'embedded IPv4 makes nine groups'],
    ['[fe80::1%eth0]', 'zone identifiers are outside the grammar'],
    ['[matrix.org]', 'DNS name in brackets'],
  ])('%j is not a server name (%s)', (input) => {
    const result = parseServerName(input);
    expect(result.ok).toBe(false);
  });

  it('treats server names case-sensitively: no case folding', () => {
    expect(parsed('Matrix.Org')).toBe('Matrix.Org');
    expect(parsed('Matrix.Org')).not.toBe(parsed('matrix.org'));
  });

  it('gives a reason when it refuses', () => {
    expect(parseServerName('matrix.org:0')).toEqual({ ok: false, error: 'port must be between 1 and 65535' });
  });

  it('accepts the longest IPv6 text form (45 characters)', () => {
    const longest = '1111:2222:3333:4444:5555:6666:255.255.255.255';
    expect(longest).toHaveLength(45);
    expect(isIpv6Address(longest)).toBe(true);
  });
});
