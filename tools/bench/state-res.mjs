// State resolution: time and peak memory to resolve synthetic rooms of 1,000, 10,000 and
// 100,000 state events with 2, 10 and 50 conflicting forks, for state resolution v2
// (room v11 rules) and v2.1 (room v12 rules). Each case runs in a fresh child process
// (tools/bench/state-res-case.mjs) so its peak RSS is its own. Run `npm run bench:state-res`
// (BENCH_STATE_RES_SIZES=1000,10000 to pick sizes; BENCH_STATE_RES_ALGORITHMS=v2).
//
// cold: a fresh AuthChainIndex, built from the source during the resolution; warm: the
// same resolution again with that index kept (a room server keeps one per room).
// room RSS: the process after building the synthetic room, before resolving.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

const sizes = (process.env.BENCH_STATE_RES_SIZES ?? '1000,10000,100000').split(',').map(Number);
const forkCounts = (process.env.BENCH_STATE_RES_FORKS ?? '2,10,50').split(',').map(Number);
const algorithms = (process.env.BENCH_STATE_RES_ALGORITHMS ?? 'v2,v2.1').split(',');
const script = new URL('./state-res-case.mjs', import.meta.url).pathname;

console.log(`node ${process.version} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} CPUs), ${process.platform}/${process.arch}`);
const started = performance.now();
const header = ['algorithm', 'state', 'forks', 'events', 'indexed', 'cold ms', 'warm ms', 'peak RSS MB', 'room RSS MB', 'heap +MB'];
const widths = [9, 8, 5, 8, 8, 9, 9, 11, 11, 8];
const row = (cells) => cells.map((cell, i) => String(cell).padStart(widths[i])).join('  ');
console.log();
console.log(row(header));
console.log('-'.repeat(widths.reduce((a, b) => a + b + 2, -2)));
for (const algorithm of algorithms) {
  for (const size of sizes) {
    for (const forks of forkCounts) {
      const output = execFileSync(process.execPath, ['--max-old-space-size=4096', script, String(size), String(forks), algorithm], { encoding: 'utf8' });
      const r = JSON.parse(output.trim().split('\n').pop());
      console.log(
        row([r.algorithm, r.size, r.forks, r.events, r.indexed, r.coldMs.toFixed(1), r.warmMs.toFixed(1), r.peakRssMb.toFixed(0), r.roomRssMb.toFixed(0), r.heapGrowthMb.toFixed(1)]),
      );
    }
  }
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
