import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate issued by a {@link TestCa}, as PEM files and their contents. */
export interface IssuedCertificate {
  readonly certificatePath: string;
  readonly privateKeyPath: string;
  readonly certificate: string;
  readonly privateKey: string;
}

/**
 * A certificate authority of a test run, made with the `openssl` command (Debian's, on
 * every machine the project runs on), so federation tests verify certificates as
 * production does instead of turning verification off. Keys are P-256 (fast to make);
 * certificates are valid for a day.
 */
export interface TestCa {
  readonly certificatePath: string;
  readonly certificate: string;
  /** A server certificate for `names` (DNS names and IP literals, all in subjectAltName). */
  issue(name: string, subjectAltNames: readonly string[]): IssuedCertificate;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const isIpLiteral = (name: string): boolean => /^[0-9.]+$/.test(name) || name.includes(':');

/** Makes a CA in `dir` (created if missing). */
export function createTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '1', '-subj', '/CN=Axon test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caCert]);
  let serial = 1;
  return {
    certificatePath: caCert,
    certificate: readFileSync(caCert, 'utf8'),
    issue(name, subjectAltNames) {
      const base = join(dir, name.replace(/[^A-Za-z0-9.-]/g, '_'));
      const key = `${base}.key`;
      const csr = `${base}.csr`;
      const cert = `${base}.crt`;
      const ext = `${base}.ext`;
      const san = subjectAltNames.map((n) => (isIpLiteral(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
      openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
      openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(serial++), '-days', '1', '-sha256', '-extfile', ext, '-out', cert]);
      return { certificatePath: cert, privateKeyPath: key, certificate: readFileSync(cert, 'utf8'), privateKey: readFileSync(key, 'utf8') };
    },
  };
}
