import { lookup, resolveSrv } from 'node:dns/promises';

/** One SRV record (RFC 2782). */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** One address a hostname resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * The DNS lookups of server name resolution, behind an interface so tests can answer
 * them. `resolveSrv` gives no records when the name has none (NXDOMAIN, NODATA) and
 * throws on other failures; `lookup` gives every address (CNAME, AAAA and A records, or
 * the hosts file) and throws when there is none.
 */
export interface Resolver {
  resolveSrv(name: string): Promise<readonly SrvRecord[]>;
  lookup(hostname: string): Promise<readonly ResolvedAddress[]>;
}

const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA']);

/** The system's resolver, through `node:dns/promises` (`lookup` is getaddrinfo). */
export const systemResolver: Resolver = {
  async resolveSrv(name) {
    try {
      return await resolveSrv(name);
    } catch (error) {
      if (NO_RECORDS.has((error as NodeJS.ErrnoException).code ?? '')) return [];
      throw error;
    }
  },
  async lookup(hostname) {
    const addresses = await lookup(hostname, { all: true, order: 'verbatim' });
    return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
  },
};

/**
 * SRV records in the order to try them (RFC 2782): lowest priority first; within one
 * priority, a weighted random order (a record's chance to come next is its weight over
 * the weights left; records of weight 0 come last unless all are 0). A single record
 * whose target is `.` means the service is not offered: no records.
 */
export function orderSrvRecords(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const usable = records.filter((r) => r.name !== '.' && r.name !== '');
  const priorities = [...new Set(usable.map((r) => r.priority))].sort((a, b) => a - b);
  const ordered: SrvRecord[] = [];
  for (const priority of priorities) {
    const left = usable.filter((r) => r.priority === priority);
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      let index = 0;
      if (total > 0) {
        let pick = random() * total;
        index = left.findIndex((r) => (pick -= r.weight) < 0);
        // Rounding can leave `pick` at 0 after the last weighted record.
        if (index < 0) index = left.findLastIndex((r) => r.weight > 0);
      }
      ordered.push(...left.splice(index, 1));
    }
  }
  return ordered;
}
