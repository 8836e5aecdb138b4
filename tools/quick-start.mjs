// `npm run test:quick-start`: the README's Quick start, exactly as written, on a fresh clone.
//
// Clones this repository's HEAD (committed work only) into a temporary directory, runs each
// line of the shell blocks of the README's "Quick start" section there with bash (a line
// that runs `npm start` in the background, as its own terminal; every other line to its
// end, with a password on standard input where it asks for one), then signs in with
// matrix-js-sdk using the homeserver URL and username the section names, creates a room,
// sends a message and reads it back through /sync. Stops the server with SIGTERM and
// expects a clean exit. Needs the port the README names to be free.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const START_TIMEOUT_MS = 5 * 60_000;

function fail(message) {
  console.error(`quick-start: FAILED: ${message}`);
  process.exitCode = 1;
  throw new Error(message);
}

/** The Quick start section: its shell lines in order, and the client settings its text names. */
export function parseQuickStart(readme) {
  const start = readme.indexOf('\n## Quick start');
  if (start < 0) fail('README.md has no "## Quick start" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].split('\n').filter((l) => l.trim() !== ''));
  const text = section.replace(/\s+/g, ' ');
  const url = /homeserver URL `([^`]+)`/.exec(text)?.[1];
  const username = /username `([^`]+)`/.exec(text)?.[1];
  const userId = /user ID is `([^`]+)`/.exec(text)?.[1];
  if (lines.length === 0 || !url || !username || !userId) fail('the Quick start must have sh blocks and name the homeserver URL, username and user ID');
  return { lines, url, username, userId };
}

async function reachable(url) {
  try {
    return (await fetch(new URL('/_matrix/client/versions', url), { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function main() {
  const { lines, url, username, userId } = parseQuickStart(readFileSync(join(root, 'README.md'), 'utf8'));
  if (await reachable(url)) fail(`something already answers at ${url}; stop it first`);
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
  if (dirty !== '') console.warn('quick-start: the working tree has uncommitted changes; the clone tests HEAD without them');

  const clone = mkdtempSync(join(tmpdir(), 'axon-quick-start-'));
  execFileSync('git', ['clone', '--quiet', root, clone], { stdio: 'inherit' });
  console.log(`quick-start: fresh clone of ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: clone, encoding: 'utf8' }).trim()} in ${clone}`);
  const password = randomBytes(12).toString('base64url');
  let server;
  /** Resolves with the server's exit code and signal. */
  let serverExited;
  let serverLog = '';
  const t0 = Date.now();
  try {
    for (const line of lines) {
      const began = Date.now();
      console.log(`$ ${line}`);
      if (/\bnpm start\b/.test(line)) {
        // A terminal of its own: its own process group, so SIGTERM reaches npm and node.
        server = spawn('bash', ['-c', line], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        server.stdout.on('data', (c) => (serverLog += c));
        server.stderr.on('data', (c) => (serverLog += c));
        const exited = new Promise((res) => server.once('exit', (code, signal) => res({ code, signal })));
        serverExited = exited;
        while (!(await reachable(url))) {
          const done = await Promise.race([exited, new Promise((res) => setTimeout(() => res(undefined), 500))]);
          if (done) fail(`"${line}" exited (${JSON.stringify(done)}) before ${url} answered:\n${serverLog.slice(-4000)}`);
          if (Date.now() - began > START_TIMEOUT_MS) fail(`${url} did not answer within ${START_TIMEOUT_MS / 1000} s`);
        }
      } else {
        // Answers a password prompt (the command reads the first line when not on a terminal).
        execFileSync('bash', ['-c', line], { cwd: clone, input: `${password}\n`, stdio: ['pipe', 'inherit', 'inherit'], timeout: START_TIMEOUT_MS });
      }
      console.log(`  (${((Date.now() - began) / 1000).toFixed(1)} s)`);
    }
    if (!server) fail('no line of the Quick start starts the server (npm start)');

    // The newcomer's client, with the settings the README gives.
    const sdk = await import('matrix-js-sdk');
    const quiet = { trace() {}, debug() {}, info() {}, log() {}, warn: console.warn, error: console.error, getChild: () => quiet };
    const client = sdk.createClient({ baseUrl: url, logger: quiet });
    const session = await client.loginRequest({ type: 'm.login.password', identifier: { type: 'm.id.user', user: username }, password });
    if (session.user_id !== userId) fail(`signed in as ${session.user_id}, the README says ${userId}`);
    const user = sdk.createClient({ baseUrl: url, accessToken: session.access_token, userId: session.user_id, deviceId: session.device_id, logger: quiet });
    const { user_id: whoami } = await user.whoami();
    const { room_id: roomId } = await user.createRoom({ name: 'Quick start' });
    const { event_id: eventId } = await user.sendTextMessage(roomId, 'hello from the Quick start');
    const sync = await (await fetch(new URL('/_matrix/client/v3/sync', url), { headers: { authorization: `Bearer ${session.access_token}` } })).json();
    const seen = (sync.rooms?.join?.[roomId]?.timeline?.events ?? []).some((e) => e.event_id === eventId);
    if (whoami !== userId || !seen) fail(`whoami ${whoami}, message in /sync: ${seen}`);
    console.log(`quick-start: signed in as ${whoami}, created ${roomId}, sent and synced a message (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
    user.stopClient();
  } finally {
    if (server && server.exitCode === null) {
      // SIGTERM to the homeserver's node process, as a process manager would send it; npm
      // and bash then exit with its status.
      const node = execFileSync('pgrep', ['-g', String(server.pid), '-f', String.raw`^\S*node .*dist/apps/homeserver/src/main\.js`], { encoding: 'utf8' }).trim().split('\n')[0];
      process.kill(Number(node), 'SIGTERM');
      const timer = setTimeout(() => process.kill(-server.pid, 'SIGKILL'), 30_000);
      const { code, signal } = await serverExited;
      clearTimeout(timer);
      if (code !== 0 && process.exitCode !== 1) fail(`the server exited with ${code ?? signal} on SIGTERM:\n${serverLog.slice(-4000)}`);
    }
    rmSync(clone, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(
    () => console.log('quick-start: ok'),
    (err) => {
      if (process.exitCode !== 1) console.error(err);
      process.exitCode = 1;
    },
  );
}
