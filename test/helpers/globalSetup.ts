import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INGESTION_CERT_DIR_ENV } from './ingestionServer';
import { createLeaf, createRoot } from './pki';

/**
 * vitest global setup: runs in the main process before workers fork. Anything that must be in a worker's
 * environment at process start (NODE_EXTRA_CA_CERTS is read only then) is prepared here.
 *
 * The local Application Insights ingestion server (test/helpers/ingestionServer.ts) serves a certificate from a
 * test CA made here. The SDK rewrites http:// endpoints to https:// and drops data silently when TLS fails, so
 * its HTTPS client must trust that CA: the CA goes into NODE_EXTRA_CA_CERTS (appended to whatever bundle was
 * configured before, so other tests keep their trust), and the leaf and key go to a directory the server
 * reads in the workers (INGESTION_CERT_DIR_ENV).
 */

export async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'arcmon-test-pki-'));
  const ca = await createRoot('arcmon Test Ingestion CA');
  const leaf = await createLeaf(ca, ['127.0.0.1', 'localhost', '::1']);

  const previous = process.env.NODE_EXTRA_CA_CERTS;
  const previousBundle = previous && existsSync(previous) ? readFileSync(previous, 'utf8') : '';
  const bundle = `${previousBundle.trimEnd()}\n${ca.certPem}`.trimStart();

  await Promise.all([
    writeFile(join(dir, 'ca.pem'), ca.certPem),
    writeFile(join(dir, 'extra-ca-bundle.pem'), bundle),
    writeFile(join(dir, 'leaf.pem'), leaf.certPem),
    writeFile(join(dir, 'leaf-key.pem'), leaf.keyPem, { mode: 0o600 }),
  ]);
  process.env.NODE_EXTRA_CA_CERTS = join(dir, 'extra-ca-bundle.pem');
  process.env[INGESTION_CERT_DIR_ENV] = dir;

  return async () => {
    if (previous === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = previous;
    delete process.env[INGESTION_CERT_DIR_ENV];
    await rm(dir, { recursive: true, force: true });
  };
}
