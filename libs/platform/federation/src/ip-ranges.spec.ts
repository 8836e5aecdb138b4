import { DEFAULT_IP_RANGE_BLACKLIST } from '@axon/platform-config';
import { IpRangeFilter } from './ip-ranges';

describe('IpRangeFilter', () => {
  const defaults = new IpRangeFilter({ blacklist: DEFAULT_IP_RANGE_BLACKLIST, whitelist: [] });

  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['1.1.1.1', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:1.1.1.1', true],
  ])('with the default blacklist, %s allowed: %s', (address, allowed) => {
    expect(defaults.allows(address)).toBe(allowed);
  });

  it('refuses what is not an IP address in the usual notation', () => {
    expect(defaults.allows('example.com')).toBe(false);
    expect(defaults.allows('0x7f.1')).toBe(false);
    expect(defaults.allows('')).toBe(false);
  });

  it('lets the whitelist open a part of a blacklisted range', () => {
    const filter = new IpRangeFilter({ blacklist: DEFAULT_IP_RANGE_BLACKLIST, whitelist: ['127.0.0.0/8'] });
    expect(filter.allows('127.0.0.1')).toBe(true);
    expect(filter.allows('::ffff:127.0.0.2')).toBe(true);
    expect(filter.allows('10.0.0.1')).toBe(false);
    expect(filter.allows('::1')).toBe(false);
  });

  it('reads single addresses and IPv4-mapped ranges', () => {
    const filter = new IpRangeFilter({ blacklist: ['203.0.113.7', '::ffff:198.51.100.0/120'], whitelist: [] });
    expect(filter.allows('203.0.113.7')).toBe(false);
    expect(filter.allows('203.0.113.8')).toBe(true);
    expect(filter.allows('198.51.100.200')).toBe(false);
    expect(filter.allows('198.51.101.1')).toBe(true);
  });

  it('names every range that does not parse', () => {
    expect(() => new IpRangeFilter({ blacklist: ['10.0.0.0/33', '127.0.0.0/8'], whitelist: ['nonsense'] })).toThrow(
      /ip_range_blacklist: "10\.0\.0\.0\/33".*ip_range_whitelist: "nonsense"/,
    );
  });
});
