import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchNotificationAllowlist, notificationAllowlistUrl } from '../../lib/catalog/allowlist';
import { createAzureLikePki, createLeaf } from '../helpers/pki';

const QUERY = '/urls/allowlist?api-version=2020-01-01&location=eastus';

const PATTERNS = ['azgn*.servicebus.windows.net'];

const BIG_LIST = JSON.stringify(Array.from({ length: 200 }, (_, i) => `azgn${i}.servicebus.windows.net`));

/** Answers per path, like the notification service would (or would not). */
function answer(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '').split('?')[0];
  const json = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  switch (path) {
    case '/urls/allowlist':
      return json(
        200,
        JSON.stringify([
          'azgnrelay-eastus-l1.servicebus.windows.net',
          'AZGNRELAY-EASTUS-L2.servicebus.windows.net',
          'azgnrelay-eastus-l1.servicebus.windows.net',
          '*.servicebus.windows.net',
          'not a host',
          'localhost',
          42,
          null,
        ]),
      );
    case '/error':
      return json(500, '{"error":"boom"}');
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html>proxy login</html>');
    case '/object':
      return json(200, '{"hosts":["a.servicebus.windows.net"]}');
    case '/nothing-valid':
      return json(200, '["*.servicebus.windows.net", 7]');
    case '/big-declared':
      return json(200, BIG_LIST);
    case '/big-chunked': {
      // No content-length: the limit must hold while reading.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      for (let i = 0; i < 200; i++) res.write(`"azgn${i}.servicebus.windows.net",`);
      return void res.end('"last.servicebus.windows.net"]');
    }
    case '/hang':
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.write('['); // never ends; the caller's signal must
    default:
      return json(404, '[]');
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('notificationAllowlistUrl', () => {
  it.each([
    [
      'AzureCloud',
      'eastus',
      'https://guestnotificationservice.azure.com/urls/allowlist?api-version=2020-01-01&location=eastus',
    ],
    [
      'AzureUSGovernment',
      'usgovvirginia',
      'https://guestnotificationservice.azure.us/urls/allowlist?api-version=2020-01-01&location=usgovvirginia',
    ],
    [
      'AzureChinaCloud',
      'chinanorth3',
      'https://guestnotificationservice.azure.cn/urls/allowlist?api-version=2020-01-01&location=chinanorth3',
    ],
  ] as const)('%s %s', (cloud, region, url) => {
    expect(notificationAllowlistUrl(cloud, region)).toBe(url);
  });
});

describe('fetchNotificationAllowlist against a loopback HTTP server', () => {
  const server = createHttpServer(answer);
  const dispatcher = new Agent();
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await listen(server)}`;
  });
  afterAll(async () => {
    await dispatcher.close();
    await close(server);
  });
  const fetch = (path: string, maxBytes?: number, signal = AbortSignal.timeout(10_000)) =>
    fetchNotificationAllowlist(`${base}${path}`, {
      dispatcher,
      signal,
      patterns: PATTERNS,
      ...(maxBytes ? { maxBytes } : {}),
    });

  it('returns the valid host names of a 200 JSON array, lower-cased, deduplicated and sorted', async () => {
    expect(await fetch(QUERY)).toEqual({
      ok: true,
      hosts: ['azgnrelay-eastus-l1.servicebus.windows.net', 'azgnrelay-eastus-l2.servicebus.windows.net'],
      leftOut: { count: 5, examples: ['*.servicebus.windows.net', 'not a host', 'localhost', '42', 'null'] },
    });
  });

  it.each([
    ['/error', (u: string) => `notification allowlist ${u} answered HTTP 500`],
    ['/html', (u: string) => `notification allowlist ${u} did not answer JSON`],
    ['/object', (u: string) => `notification allowlist ${u} did not answer a JSON array of host names`],
    [
      '/nothing-valid',
      (u: string) =>
        `notification allowlist ${u} listed no host names matching azgn*.servicebus.windows.net (2 entries)`,
    ],
    [
      '/big-declared',
      (u: string) =>
        `notification allowlist ${u} sent ${Buffer.byteLength(BIG_LIST)} bytes, more than the 1024 accepted`,
    ],
    ['/big-chunked', (u: string) => `notification allowlist ${u} sent more than the 1024 bytes accepted`],
  ])('reports %s as a failure, not an exception', async (path, message) => {
    expect(await fetch(path, 1024)).toEqual({ ok: false, message: message(`${base}${path}`) });
  });

  it('takes the same oversized list under the default limit, up to 64 relay hosts, and reports the rest', async () => {
    const result = await fetch('/big-chunked');
    expect(result.ok && result.hosts.length).toBe(64);
    expect(result.ok && result.leftOut.count).toBe(201 - 64);
  });

  it('reports a refused connection', async () => {
    const closed = createHttpServer();
    const port = await listen(closed);
    await close(closed);
    const url = `http://127.0.0.1:${port}${QUERY}`;
    const result = await fetchNotificationAllowlist(url, {
      dispatcher,
      signal: AbortSignal.timeout(10_000),
      patterns: PATTERNS,
    });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(
      new RegExp(`^could not fetch notification allowlist ${escape(url)}: .*ECONNREFUSED`),
    );
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = fetch('/hang', undefined, controller.signal);
    setTimeout(() => controller.abort(new Error('cycle deadline reached')), 50);
    expect(await pending).toEqual({
      ok: false,
      message: `could not fetch notification allowlist ${base}/hang: cycle deadline reached`,
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('fetchNotificationAllowlist over HTTPS with the caller’s dispatcher', () => {
  let server: Server | undefined;
  let dispatcher: Agent | undefined;
  let url = '';
  beforeAll(async () => {
    const { root, intermediate } = await createAzureLikePki();
    const leaf = await createLeaf(intermediate, ['127.0.0.1']);
    server = createHttpsServer(
      { key: leaf.keyPem, cert: `${leaf.certPem.trim()}\n${intermediate.certPem.trim()}\n` },
      answer,
    );
    dispatcher = new Agent({ connect: { ca: root.certPem } });
    url = `https://127.0.0.1:${await listen(server)}${QUERY}`;
  });
  afterAll(async () => {
    await dispatcher?.close();
    if (server) await close(server);
  });

  it('trusts what the dispatcher trusts', async () => {
    const result = await fetchNotificationAllowlist(url, {
      dispatcher,
      signal: AbortSignal.timeout(10_000),
      patterns: PATTERNS,
    });
    expect(result).toMatchObject({
      ok: true,
      hosts: ['azgnrelay-eastus-l1.servicebus.windows.net', 'azgnrelay-eastus-l2.servicebus.windows.net'],
    });
  });

  it('reports an untrusted certificate as a failure', async () => {
    const untrusting = new Agent();
    try {
      const result = await fetchNotificationAllowlist(url, {
        dispatcher: untrusting,
        signal: AbortSignal.timeout(10_000),
        patterns: PATTERNS,
      });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toMatch(
        /^could not fetch notification allowlist https:\/\/127\.0\.0\.1:\d+\/urls\/allowlist\?.*: .*(certificate|UNABLE_TO_GET_ISSUER_CERT)/,
      );
    } finally {
      await untrusting.close();
    }
  });
});
