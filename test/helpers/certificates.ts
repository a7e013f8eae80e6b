import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Certificates {
  dir: string;
  /** The CA that signed the server's and the client's certificates. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  /** The server's certificate (for the name `localhost` only) and key. */
  serverCert: string;
  serverKey: string;
  /** A client certificate for the role `postgres`, and its key. */
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for `localhost` and a client certificate, made by openssl; removed with the test. */
export async function makeCertificates(t: { teardown(fn: () => Promise<void>): void }): Promise<Certificates> {
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`);
  const signed = async (name: string, subject: string, extensions: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    await writeFile(join(dir, `${name}.ext`), extensions);
    openssl('x509', '-req', '-days', '2', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  ca('ca');
  ca('other-ca');
  await signed('server', '/CN=localhost', 'subjectAltName=DNS:localhost\n');
  await signed('client', '/CN=postgres', 'extendedKeyUsage=clientAuth\n');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    otherCa: at('other-ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
}
