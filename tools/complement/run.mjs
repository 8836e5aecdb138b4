// Runs Complement (github.com/matrix-org/complement, the Matrix homeserver test suite)
// against Axon without Docker: every homeserver is an Axon process started by the Go
// deployer in conformance/complement/overlay, which replaces Complement's Docker deployer
// through `go test -overlay`. Complement itself comes from the Go module proxy at the version
// pinned in conformance/complement/go.mod; nothing of it is committed.
//
//   npm run test:complement [-- [options] [packages...]]
//
//   packages            Complement packages, default ./tests/csapi (e.g. ./tests ./tests/msc3902)
//   --run REGEX         only tests matching REGEX (go test -run)
//   --dirty             reuse one deployment per package (COMPLEMENT_ENABLE_DIRTY_RUNS=1)
//   --no-build          use the existing dist/ instead of running `npm run build`
//   --timeout DUR       go test -timeout (default 30m)
//   --check-baseline    exit 1 when a test listed in conformance/complement/baseline.txt did not pass
//   --update-baseline   rewrite the baseline of the packages run with the tests that passed
//   --from-results FILE do not run: check or update the baseline from an earlier results.json
//
// Exit status: 0 when the suite ran (failing tests are results, not errors), 1 when no test
// ran or the baseline check failed, 2 on a setup error.
// Writes tmp/complement/results.json (one entry per test and subtest), summary.txt,
// go-test.jsonl (raw `go test -json`), and logs/<package>/<test>/hsN.log per homeserver.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const modDir = path.join(root, 'conformance/complement');
const baselinePath = path.join(modDir, 'baseline.txt');
const outDir = path.join(root, 'tmp/complement');
const mainJS = path.join(root, 'dist/apps/homeserver/src/main.js');
const workDir = path.join(root, 'tmp/complement-work/complement');
const COMPLEMENT = 'github.com/matrix-org/complement';
// Tests that always build Docker images of their own (LOCAL-INFRA.md, "Complement").
const DOCKER_ONLY = [
  'TestRoomSpecificUsernameChange',
  'TestRoomSpecificUsernameAtJoin',
  'TestJoinFederatedRoomFromApplicationServiceBridgeUser',
  'TestJumpToDateEndpoint',
];
const HOSTS = [
  ['127.0.0.2', 'hs1'],
  ['127.0.0.3', 'hs2'],
  ['127.0.0.4', 'hs3'],
];
const HOSTS_BEGIN = '# BEGIN axon complement (tools/complement/run.mjs)';
const HOSTS_END = '# END axon complement';

function parseArgs(argv) {
  const opts = { packages: [], run: '', dirty: false, build: true, timeout: '30m', check: false, update: false, fromResults: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--run') opts.run = argv[++i] ?? '';
    else if (a === '--dirty') opts.dirty = true;
    else if (a === '--no-build') opts.build = false;
    else if (a === '--timeout') opts.timeout = argv[++i] ?? '30m';
    else if (a === '--check-baseline') opts.check = true;
    else if (a === '--update-baseline') opts.update = true;
    else if (a === '--from-results') opts.fromResults = argv[++i] ?? '';
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(new URL(import.meta.url), 'utf8').split('\nimport ')[0]);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else opts.packages.push(a);
  }
  if (opts.packages.length === 0) opts.packages.push('./tests/csapi');
  if (opts.check && opts.update) fail('--check-baseline and --update-baseline exclude each other');
  return opts;
}

function fail(msg) {
  console.error(`test:complement: ${msg}`);
  process.exit(2);
}

function step(msg) {
  console.log(`\n== ${msg} (${new Date().toISOString().slice(11, 19)})`);
}

// ./tests/csapi -> { rel: 'tests/csapi', importPath: 'github.com/matrix-org/complement/tests/csapi' }
function normalisePackage(p) {
  let rel = p.startsWith(COMPLEMENT) ? p.slice(COMPLEMENT.length) : p;
  rel = rel.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  // The module's root package (the deployer's self-test lives there) is `.`.
  if (rel === '' || rel === '.') return { rel: '.', importPath: COMPLEMENT };
  return { rel, importPath: `${COMPLEMENT}/${rel}` };
}

function goEnv(extra = {}) {
  return {
    ...process.env,
    // The pinned pseudo-version is not in sum.golang.org; go.sum (committed) pins its hash.
    GONOSUMDB: [process.env.GONOSUMDB, COMPLEMENT].filter(Boolean).join(','),
    GOFLAGS: [process.env.GOFLAGS, '-mod=readonly'].filter(Boolean).join(' '),
    ...extra,
  };
}

function go(args, { capture = true } = {}) {
  const r = spawnSync('go', args, { cwd: modDir, env: goEnv(), encoding: 'utf8', stdio: capture ? 'pipe' : 'inherit' });
  if (r.error) fail(`cannot run go (${r.error.message}); install Go >= 1.22`);
  if (r.status !== 0) fail(`go ${args.join(' ')} failed:\n${r.stderr ?? ''}`);
  return (r.stdout ?? '').trim();
}

// Idempotent: one marked block, rewritten only when it differs.
function ensureHosts() {
  const file = '/etc/hosts';
  const current = fs.readFileSync(file, 'utf8');
  const block = [HOSTS_BEGIN, ...HOSTS.map(([ip, name]) => `${ip} ${name}`), HOSTS_END].join('\n');
  const re = new RegExp(`${escapeRe(HOSTS_BEGIN)}[\\s\\S]*?${escapeRe(HOSTS_END)}\\n?`);
  let next;
  if (re.test(current)) next = current.replace(re, `${block}\n`);
  else next = `${current}${current.endsWith('\n') || current === '' ? '' : '\n'}${block}\n`;
  if (next === current) {
    console.log('/etc/hosts: hs1-hs3 entries present');
    return;
  }
  try {
    fs.writeFileSync(file, next);
  } catch (err) {
    fail(`cannot write /etc/hosts (${err.message}); add these lines yourself:\n${block}`);
  }
  console.log('/etc/hosts: hs1-hs3 entries written');
}

function makeWritable(dir) {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) makeWritable(p);
    else fs.chmodSync(p, 0o644);
  }
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Homeserver processes a killed earlier run left behind would hold the hsN addresses.
function killLeftovers() {
  const dir = path.join(outDir, 'pids');
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      /* gone */
    }
    if (pid > 1 && cmdline.includes(mainJS)) {
      console.log(`killing leftover homeserver process ${pid} (${f})`);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    fs.rmSync(path.join(dir, f), { force: true });
  }
}

// Baseline: one test name per line (TestX or TestX/sub); "# package tests/csapi" lines
// start the section of a package, so a run of some packages checks only their tests.
function readBaseline() {
  const sections = new Map(); // package rel ('' = any) -> Set of names
  if (!fs.existsSync(baselinePath)) return sections;
  let pkg = '';
  for (const raw of fs.readFileSync(baselinePath, 'utf8').split('\n')) {
    const line = raw.trim();
    const m = /^#\s*package\s+(\S+)/.exec(line);
    if (m) {
      pkg = normalisePackage(m[1]).rel;
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    if (!sections.has(pkg)) sections.set(pkg, new Set());
    sections.get(pkg).add(line);
  }
  return sections;
}

function writeBaseline(sections, version) {
  const lines = [
    '# Complement tests Axon passes (tools/complement/run.mjs --update-baseline).',
    `# Complement ${version}. One test per line, TestX or TestX/subtest; "# package P"`,
    '# starts the tests of package P. `npm run test:complement -- --check-baseline` fails when one of',
    '# these does not pass; add newly passing tests in the change that makes them pass.',
  ];
  for (const pkg of [...sections.keys()].sort()) {
    const names = [...sections.get(pkg)].sort();
    if (names.length === 0) continue;
    lines.push('', `# package ${pkg || '.'}`, ...names);
  }
  fs.writeFileSync(baselinePath, `${lines.join('\n')}\n`);
}

async function runGoTest(opts, pkgs, overlayPath) {
  const args = [
    'test',
    '-tags',
    'axon_complement',
    '-overlay',
    overlayPath,
    '-p',
    '1',
    '-json',
    '-count=1',
    '-timeout',
    opts.timeout,
    '-skip',
    `^(${DOCKER_ONLY.join('|')})$`,
  ];
  if (opts.run) args.push('-run', opts.run);
  args.push(...pkgs.map((p) => (p.rel ? `./${p.rel}` : '.')));
  console.log(`go ${args.join(' ')}`);
  const env = goEnv({
    COMPLEMENT_BASE_IMAGE: 'axon',
    COMPLEMENT_HOSTNAME_RUNNING_COMPLEMENT: '127.0.0.1',
    AXON_COMPLEMENT_MAIN: mainJS,
    AXON_COMPLEMENT_NODE: process.execPath,
    AXON_COMPLEMENT_WORKDIR: outDir,
    ...(opts.dirty ? { COMPLEMENT_ENABLE_DIRTY_RUNS: '1' } : {}),
  });
  const child = spawn('go', args, { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  const raw = fs.createWriteStream(path.join(outDir, 'go-test.jsonl'));
  const stderr = [];
  child.stderr.on('data', (d) => {
    stderr.push(d);
    process.stderr.write(d);
  });
  const events = [];
  const rl = readline.createInterface({ input: child.stdout });
  const rlClosed = new Promise((resolve) => rl.once('close', resolve));
  rl.on('line', (line) => {
    raw.write(`${line}\n`);
    let ev;
    try {
      ev = JSON.parse(line);
    } catch {
      console.log(line);
      return;
    }
    events.push(ev);
    if (ev.Test && !ev.Test.includes('/') && ['pass', 'fail', 'skip'].includes(ev.Action)) {
      console.log(`${ev.Action.toUpperCase().padEnd(4)} ${ev.Test} (${ev.Elapsed ?? 0}s)`);
    } else if (!ev.Test && ['pass', 'fail', 'skip'].includes(ev.Action) && ev.Package) {
      console.log(`${ev.Action.toUpperCase().padEnd(4)} package ${ev.Package} (${ev.Elapsed ?? 0}s)`);
    } else if (ev.Action === 'build-output' || (ev.Action === 'output' && !ev.Test && /FAIL|panic|build failed/.test(ev.Output ?? ''))) {
      process.stdout.write(ev.Output ?? '');
    }
  });
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  await rlClosed;
  raw.end();
  return { code, events, stderr: Buffer.concat(stderr).toString('utf8') };
}

function collect(events, pkgs) {
  const byImport = new Map(pkgs.map((p) => [p.importPath, p.rel]));
  const tests = new Map(); // key pkg\0name
  const packages = new Map();
  for (const ev of events) {
    const pkg = byImport.get(ev.Package) ?? ev.Package ?? ev.ImportPath ?? '?';
    if (!ev.Test) {
      if (['pass', 'fail', 'skip'].includes(ev.Action)) packages.set(pkg, { package: pkg, outcome: ev.Action, elapsed: ev.Elapsed ?? 0 });
      continue;
    }
    const key = `${pkg}\0${ev.Test}`;
    if (ev.Action === 'run' && !tests.has(key)) {
      const slash = ev.Test.lastIndexOf('/');
      tests.set(key, { package: pkg, name: ev.Test, parent: slash < 0 ? null : ev.Test.slice(0, slash), outcome: 'interrupted', elapsed: 0 });
    } else if (['pass', 'fail', 'skip'].includes(ev.Action)) {
      const t = tests.get(key) ?? { package: pkg, name: ev.Test, parent: ev.Test.includes('/') ? ev.Test.slice(0, ev.Test.lastIndexOf('/')) : null };
      t.outcome = ev.Action;
      t.elapsed = ev.Elapsed ?? 0;
      tests.set(key, t);
    }
  }
  for (const p of pkgs) if (!packages.has(p.rel)) packages.set(p.rel, { package: p.rel, outcome: 'fail', elapsed: 0, note: 'no result (build failure?)' });
  // a test still running when the binary died (timeout, panic) counts as failed
  const list = [...tests.values()].map((t) => (t.outcome === 'interrupted' ? { ...t, outcome: 'fail', note: 'interrupted' } : t));
  return { tests: list, packages: [...packages.values()] };
}

function summarise(tests, packages, meta) {
  const count = (ts) => ({
    passed: ts.filter((t) => t.outcome === 'pass').length,
    failed: ts.filter((t) => t.outcome === 'fail').length,
    skipped: ts.filter((t) => t.outcome === 'skip').length,
  });
  const rate = (c) => (c.passed + c.failed ? `${((100 * c.passed) / (c.passed + c.failed)).toFixed(1)}%` : 'n/a');
  const fmt = (c) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped (pass rate ${rate(c)})`;
  const lines = [
    `Complement ${meta.version} against Axon, ${meta.startedAt}, ${Math.round(meta.seconds)}s${meta.dirty ? ', dirty runs' : ''}`,
    `(pass rate = passed / (passed + failed); skipped tests, including the ${DOCKER_ONLY.length} Docker-only ones, are left out)`,
    '',
  ];
  for (const p of packages) {
    const ts = tests.filter((t) => t.package === p.package);
    lines.push(`package ${p.package}: ${p.outcome}${p.note ? ` (${p.note})` : ''}, ${Math.round(p.elapsed)}s`);
    lines.push(`  top-level tests: ${fmt(count(ts.filter((t) => !t.parent)))}`);
    lines.push(`  all tests incl. subtests: ${fmt(count(ts))}`);
  }
  lines.push('', `TOTAL top-level tests: ${fmt(count(tests.filter((t) => !t.parent)))}`);
  lines.push(`TOTAL tests incl. subtests: ${fmt(count(tests))}`);
  const failedTop = tests.filter((t) => !t.parent && t.outcome === 'fail').map((t) => t.name);
  if (failedTop.length) lines.push('', `failed top-level tests (${failedTop.length}):`, ...failedTop.map((n) => `  ${n}`));
  return lines.join('\n');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let pkgs = opts.packages.map(normalisePackage);
  const startedAt = new Date();
  let tests, version;
  if (opts.fromResults) {
    const r = JSON.parse(fs.readFileSync(opts.fromResults, 'utf8'));
    ({ tests } = r);
    version = r.complement.split('@')[1];
    pkgs = r.packages.map((p) => normalisePackage(p.package));
    opts.run = r.run ?? '';
    console.log(`${opts.fromResults}: ${tests.length} tests of ${pkgs.map((p) => p.rel).join(', ')}`);
  } else {
    ({ tests, version } = await runSuite(opts, pkgs, startedAt));
  }
  checkOrUpdateBaseline(opts, pkgs, tests, version);
}

async function runSuite(opts, pkgs, startedAt) {

  step('go and the pinned Complement (Go module proxy)');
  console.log(go(['version']));
  go(['mod', 'download', COMPLEMENT], { capture: false });
  const version = go(['list', '-m', '-f', '{{.Version}}', COMPLEMENT]);
  const complementDir = go(['list', '-m', '-f', '{{.Dir}}', COMPLEMENT]);
  console.log(`${COMPLEMENT}@${version} in ${complementDir}`);

  if (opts.build) {
    step('build Axon (npm run build)');
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) fail('npm run build failed');
  }
  if (!fs.existsSync(mainJS)) fail(`${path.relative(root, mainJS)} missing: run npm run build`);

  step('working files');
  fs.mkdirSync(outDir, { recursive: true });
  killLeftovers();
  for (const d of ['logs', 'data', 'templates', 'pids']) fs.rmSync(path.join(outDir, d), { recursive: true, force: true });
  // `go test -overlay` refuses files in the module cache, so the tests run in a fresh copy
  // of the pinned module (tmp/, never committed), in which the overlay puts our deployer
  // in place of Complement's Docker deployer (test_package.go) for the build only.
  fs.rmSync(workDir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(workDir), { recursive: true });
  fs.cpSync(complementDir, workDir, { recursive: true });
  makeWritable(workDir);
  const overlay = { Replace: {} };
  for (const f of fs.readdirSync(path.join(modDir, 'overlay')).filter((n) => n.endsWith('.go'))) {
    overlay.Replace[path.join(workDir, f)] = path.join(modDir, 'overlay', f);
  }
  const overlayPath = path.join(outDir, 'overlay.json');
  fs.writeFileSync(overlayPath, `${JSON.stringify(overlay, null, 2)}\n`);
  console.log(`${path.relative(root, workDir)}: copy of ${COMPLEMENT}@${version}; overlay: ${Object.keys(overlay.Replace).length} files`);
  ensureHosts();

  step(`go test ${pkgs.map((p) => p.rel).join(' ')}`);
  const { code, events, stderr } = await runGoTest(opts, pkgs, overlayPath);
  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const { tests, packages } = collect(events, pkgs);
  const meta = { version, startedAt: startedAt.toISOString(), seconds, dirty: opts.dirty };
  fs.writeFileSync(
    path.join(outDir, 'results.json'),
    `${JSON.stringify({ complement: `${COMPLEMENT}@${version}`, ...meta, goTestExitCode: code, run: opts.run || null, skipped: DOCKER_ONLY, packages, tests }, null, 2)}\n`,
  );
  const summary = summarise(tests, packages, meta);
  fs.writeFileSync(path.join(outDir, 'summary.txt'), `${summary}\n`);
  step('summary (tmp/complement/summary.txt, results.json)');
  console.log(summary);
  if (tests.length === 0) {
    console.error(`no test ran (go test exit ${code})\n${stderr}`);
    process.exit(1);
  }
  return { tests, version };
}

function checkOrUpdateBaseline(opts, pkgs, tests, version) {
  const baseline = readBaseline();
  const ranPkgs = new Set(pkgs.map((p) => p.rel));
  const passed = new Set(tests.filter((t) => t.outcome === 'pass').map((t) => `${t.package}\0${t.name}`));
  if (opts.update) {
    if (opts.run) fail('--update-baseline needs a full run (no --run)');
    for (const p of ranPkgs) baseline.set(p, new Set(tests.filter((t) => t.package === p && t.outcome === 'pass').map((t) => t.name)));
    writeBaseline(baseline, version);
    console.log(`\nbaseline: ${path.relative(root, baselinePath)} rewritten for ${[...ranPkgs].join(', ')}`);
  }
  if (opts.check) {
    const runRe = opts.run ? new RegExp(opts.run.split('/')[0]) : null;
    const regressions = [];
    let checked = 0;
    for (const [pkg, names] of baseline) {
      const scope = pkg === '' ? [...ranPkgs] : ranPkgs.has(pkg) ? [pkg] : [];
      if (scope.length === 0) continue;
      for (const name of names) {
        if (runRe && !runRe.test(name.split('/')[0])) continue;
        checked++;
        if (!scope.some((p) => passed.has(`${p}\0${name}`))) {
          const t = tests.find((x) => scope.includes(x.package) && x.name === name);
          regressions.push(`${name} (${t ? t.outcome : 'did not run'})`);
        }
      }
    }
    const known = new Set([...baseline.values()].flatMap((s) => [...s]));
    const fresh = tests.filter((t) => t.outcome === 'pass' && !known.has(t.name));
    if (fresh.length) console.log(`\n${fresh.length} passing tests are not in the baseline yet (--update-baseline adds them)`);
    if (regressions.length) {
      console.error(`\nbaseline check FAILED: ${regressions.length} of ${checked} baselined tests did not pass:\n${regressions.map((r) => `  ${r}`).join('\n')}`);
      process.exit(1);
    }
    console.log(`\nbaseline check passed: all ${checked} baselined tests passed`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
