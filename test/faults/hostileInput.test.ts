import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNotificationAllowlist } from '../../lib/catalog/allowlist';
import { parseSettings } from '../../lib/config/settings';

/**
 * Hostile or broken input: each case must end quickly, in bounded memory, with a message naming the input and the
 * fix. Cases that used to burn CPU run in a child process with a small heap and a hard time limit, so a regression
 * fails the test instead of hanging the suite.
 */

const ROOT = join(__dirname, '..', '..');

/** Runs `code` (ESM, with the project's TypeScript loadable) in a child with a 96 MiB heap, killed after 15 s. */
function bounded(code: string): Promise<{ stdout: string; stderr: string; killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--max-old-space-size=96', '--import', 'tsx', '--input-type=module', '-e', code],
      { cwd: ROOT, timeout: 15_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({
          stdout,
          stderr,
          killed: error?.killed ?? false,
          code: error ? ((error as { code?: number }).code ?? null) : 0,
        }),
    );
  });
}

describe('hostile wildcard patterns', () => {
  it.each([8, 14])('a pattern with %i stars is checked in bounded time and memory', async (stars) => {
    const pattern = `a${'*a'.repeat(stars)}.example.com`;
    const host = `${'a'.repeat(60)}b.example.com`;
    const config = JSON.stringify({ wildcards: { hosts: { [pattern]: [host] } } });
    const run = await bounded(`
      const { parseUserConfig } = (await import('./lib/catalog/userConfig.ts')).default;
      try { parseUserConfig(${JSON.stringify(config)}, 'endpoints.json'); console.log('accepted'); }
      catch (e) { console.log(e.message); }
    `);
    expect(run).toMatchObject({ killed: false, code: 0 });
    expect(run.stdout).toContain(`"${host}" does not match ${pattern}`);
  });
});

describe('bad settings are refused at the edge with the setting named', () => {
  const base = {
    ARCMON_SITE: 'hub-weu',
    ARCMON_REGION: 'westeurope',
    ARCMON_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true',
  };
  it.each([
    [
      'a malformed % escape in the proxy password',
      { ARCMON_PROXY: 'http://user:p%ZZss@proxy.contoso.com:3128' },
      'ARCMON_PROXY: the user name or password has a malformed % escape; write a literal % as %25 (e.g. http://user:p%25ss@proxy:3128)',
    ],
    [
      'a SOCKS proxy',
      { HTTPS_PROXY: 'socks5://proxy.contoso.com:1080' },
      'HTTPS_PROXY: unsupported proxy scheme socks5; only http:// proxies are supported',
    ],
    [
      'a DNS server given by name',
      { ARCMON_DNS_SERVER: 'dns.contoso.com' },
      'ARCMON_DNS_SERVER "dns.contoso.com" is not an IP address with an optional port; use e.g. 10.0.0.4, 10.0.0.4:53 or [fd00::4]:53',
    ],
  ])('%s', (_name, extra, message) => {
    expect(() => parseSettings({ ...base, ...extra })).toThrow(`Invalid monitor settings:\n  - ${message}`);
  });
});

describe('a hostile notification allowlist answer', () => {
  // 2,504 names in under 64 KiB: the relays, then names of the customer's network and of other clouds.
  const names = [
    'azgnrelay-eastus-l1.servicebus.windows.net',
    'azgnrelay-eastus-l2.servicebus.windows.net',
    'sql01.corp.contoso.com',
    'metadata.google.internal',
    ...Array.from({ length: 2500 }, (_, i) => (i % 3 ? `h${i}.contoso.com` : `azgn${i}.servicebus.windows.net`)),
  ];
  const body = JSON.stringify(names);
  let server: Server;
  let url = '';
  const dispatcher = new Agent();
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/urls/allowlist`;
  });
  afterAll(async () => {
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets in only azgn* Service Bus relays, at most 64, and reports the rest', async () => {
    expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
    const got = await fetchNotificationAllowlist(url, {
      dispatcher,
      signal: AbortSignal.timeout(10_000),
      patterns: ['azgn*.servicebus.windows.net'],
    });
    if (!got.ok) throw new Error(got.message);
    expect(got.hosts).toHaveLength(64);
    expect(got.hosts.every((h) => /^azgn[a-z0-9-]+\.servicebus\.windows\.net$/.test(h))).toBe(true);
    expect(got.hosts).not.toContain('sql01.corp.contoso.com');
    expect(got.hosts).not.toContain('metadata.google.internal');
    expect(got.leftOut.count).toBe(names.length - 64);
    expect(got.leftOut.examples.slice(0, 2)).toEqual(['sql01.corp.contoso.com', 'metadata.google.internal']);
  });
});
