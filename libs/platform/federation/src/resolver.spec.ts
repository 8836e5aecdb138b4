import { orderSrvRecords, systemResolver, type SrvRecord } from './resolver';

const srv = (name: string, priority: number, weight: number): SrvRecord => ({ name, port: 8448, priority, weight });

describe('orderSrvRecords', () => {
  it('puts lower priorities first, whatever the weights', () => {
    const ordered = orderSrvRecords([srv('c', 20, 100), srv('a', 5, 0), srv('b', 10, 1)], () => 0.5);
    expect(ordered.map((r) => r.name)).toEqual(['a', 'b', 'c']);
  });

  it('orders one priority by weight: a record is picked with a chance of its weight over those left', () => {
    const records = [srv('light', 1, 10), srv('heavy', 1, 90)];
    // A draw in [0, 0.1) lands in the light record's share, one in [0.1, 1) in the heavy one's.
    expect(orderSrvRecords(records, () => 0.05).map((r) => r.name)).toEqual(['light', 'heavy']);
    expect(orderSrvRecords(records, () => 0.5).map((r) => r.name)).toEqual(['heavy', 'light']);
  });

  it('leaves records of weight 0 after the weighted ones', () => {
    const ordered = orderSrvRecords([srv('zero', 1, 0), srv('some', 1, 5)], () => 0.99);
    expect(ordered.map((r) => r.name)).toEqual(['some', 'zero']);
  });

  it('reads a target of "." as no service', () => {
    expect(orderSrvRecords([srv('.', 0, 0)])).toEqual([]);
  });
});

describe('systemResolver', () => {
  it('looks up localhost in the hosts file', async () => {
    const addresses = await systemResolver.lookup('localhost');
    expect(addresses.map((a) => a.address)).toEqual(expect.arrayContaining([expect.stringMatching(/^(127\.0\.0\.1|::1)$/)]));
  });
});
