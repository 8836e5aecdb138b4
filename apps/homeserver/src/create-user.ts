// `npm run create-user -- <localpart> [--admin] [--url http://host:port]`: makes an account
// on a running homeserver through shared-secret registration, with the secret the server
// uses (`registration.shared_secret`, or the file it generated in its data directory), so
// the first (admin) account needs no open registration. Reads the same configuration as
// `npm start` (AXON_CONFIG and the AXON_* variables). The password is asked for twice on a
// terminal, or read from the first line of standard input otherwise.
import { createInterface } from 'node:readline';
import { loadConfig, type AxonConfig } from '@axon/platform-config';
import { readSecretFile, registerWithSharedSecret, registrationSecretPath, SharedSecretRegistrationError } from '@axon/services-client-api';

const USAGE = 'usage: npm run create-user -- <localpart> [--admin] [--display-name NAME] [--url http://127.0.0.1:8008]';

interface Options {
  readonly username: string;
  readonly admin: boolean;
  readonly displayName?: string;
  readonly url?: string;
}

function parseArguments(args: readonly string[]): Options {
  let username: string | undefined;
  let admin = false;
  let displayName: string | undefined;
  let url: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--admin') admin = true;
    else if (arg === '--display-name' && i + 1 < args.length) displayName = args[++i];
    else if (arg === '--url' && i + 1 < args.length) url = args[++i];
    else if (!arg.startsWith('-') && username === undefined) username = arg.replace(/^@/, '').replace(/:.*$/, '');
    else throw new SharedSecretRegistrationError(USAGE);
  }
  if (username === undefined || username === '') throw new SharedSecretRegistrationError(USAGE);
  return { username, admin, ...(displayName === undefined ? {} : { displayName }), ...(url === undefined ? {} : { url }) };
}

/** The client listener as a URL a local process can reach (a wildcard address means this host). */
function clientUrl(config: AxonConfig): string {
  const { host, port } = config.listen.client;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

async function sharedSecret(config: AxonConfig): Promise<string> {
  if (config.registration.shared_secret !== undefined) return config.registration.shared_secret;
  const path = registrationSecretPath(config);
  if (path === undefined) throw new SharedSecretRegistrationError('shared-secret registration is off (registration.shared_secret_path: false)');
  const secret = await readSecretFile(path);
  if (secret === undefined) throw new SharedSecretRegistrationError(`no ${path} yet: start the homeserver once (npm start), which creates it`);
  return secret;
}

/** The password: asked twice without echo on a terminal, else the first line of stdin. */
async function readPassword(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: process.stdin.isTTY === true, output: process.stdin.isTTY ? process.stderr : undefined });
  if (!process.stdin.isTTY) {
    for await (const line of lines) {
      lines.close();
      return line;
    }
    throw new SharedSecretRegistrationError('no password on standard input');
  }
  // Echo off: readline writes typed characters through _writeToOutput, which stays quiet here.
  const muted = lines as unknown as { _writeToOutput: (text: string) => void };
  const ask = (prompt: string): Promise<string> =>
    new Promise((resolve) => {
      process.stderr.write(prompt);
      muted._writeToOutput = () => undefined;
      lines.question('', (answer) => {
        process.stderr.write('\n');
        resolve(answer);
      });
    });
  try {
    const first = await ask('Password: ');
    const again = await ask('Confirm password: ');
    if (first !== again) throw new SharedSecretRegistrationError('the passwords do not match');
    return first;
  } finally {
    lines.close();
  }
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const config = loadConfig();
  const secret = await sharedSecret(config);
  const password = await readPassword();
  if (password === '') throw new SharedSecretRegistrationError('the password is empty');
  const baseUrl = options.url ?? clientUrl(config);
  const created = await registerWithSharedSecret(baseUrl, secret, {
    username: options.username,
    password,
    admin: options.admin,
    ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
  });
  process.stdout.write(`Created ${created.user_id}${options.admin ? ' (server admin)' : ''}. Sign in with homeserver URL ${config.public_baseurl ?? baseUrl} as ${created.user_id}.\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`create-user: ${err instanceof SharedSecretRegistrationError ? err.message : String(err)}\n`);
  process.exit(1);
});
