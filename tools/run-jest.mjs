// Runs one Jest project (`unit`, `infra`, `distributed` or `federation`) with the flags PGlite needs under Jest's VM
// (dynamic import), passing any extra arguments (test path patterns, -t ...) first so
// that Jest's variadic --selectProjects does not swallow them.
import { spawn } from 'node:child_process';

const [project, ...args] = process.argv.slice(2);
if (!['unit', 'infra', 'distributed', 'federation'].includes(project)) {
  console.error('usage: node tools/run-jest.mjs unit|infra|distributed|federation [jest args]');
  process.exit(2);
}
const jest = new URL('../node_modules/jest/bin/jest.js', import.meta.url).pathname;
const extra = project === 'unit' ? [] : ['--runInBand'];
const child = spawn(
  process.execPath,
  ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', jest, ...args, ...extra, '--selectProjects', project],
  // The distributed project runs the end-to-end suites against the distributed deployment
  // (startHomeserver brings it up instead of one process).
  { stdio: 'inherit', env: project === 'distributed' ? { ...process.env, AXON_TEST_DISTRIBUTED: '1' } : process.env },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
