import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  bypassesProxy,
  MAX_PROXY_HEADER_BYTES,
  openTunnel,
  parseProxyUrl,
  proxyFromEnv,
  redactProxyUrl,
} from '../../lib/probes/proxy';
import { startProxyServer } from '../helpers/proxyServer';
import type { ProxyServer } from '../helpers/proxyServer';
import { startStalledListener } from '../helpers/stalledListener';

describe('proxyFromEnv', () => {
  it.each([
    [{ HTTPS_PROXY: 'http://proxy.corp:3128' }, 'http://proxy.corp:3128/', []],
    [
      { https_proxy: 'http://proxy.corp:8080', no_proxy: 'localhost, .corp' },
      'http://proxy.corp:8080/',
      ['localhost', '.corp'],
    ],
    [
      { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '10.0.0.0/8,*.internal' },
      'http://proxy.corp:3128/',
      ['10.0.0.0/8', '*.internal'],
    ],
    [{ HTTPS_PROXY: 'http://u:p%40ss@10.1.1.1:3128' }, 'http://u:p%40ss@10.1.1.1:3128/', []],
  ])('reads %j', (env, url, noProxy) => {
    const proxy = proxyFromEnv(env);
    expect(proxy?.url.href).toBe(url);
    expect(proxy?.noProxy).toEqual(noProxy);
  });

  it.each([[{}], [{ HTTPS_PROXY: '' }], [{ HTTP_PROXY: 'http://only-http:3128' }]])('has no proxy for %j', (env) => {
    expect(proxyFromEnv(env)).toBeUndefined();
  });

  it.each([
    [
      'https://proxy.corp:443',
      'HTTPS_PROXY: https:// proxy URLs are not supported; give the proxy as http://host:port (the tunnel to the endpoint is still TLS)',
    ],
    ['socks5://proxy.corp:1080', 'HTTPS_PROXY: unsupported proxy scheme socks5; only http:// proxies are supported'],
    ['http://', 'HTTPS_PROXY: not a valid URL (expected http://host:port)'],
  ])('rejects %s', (value, message) => {
    expect(() => proxyFromEnv({ HTTPS_PROXY: value })).toThrow(message);
  });
});

describe('bypassesProxy', () => {
  it.each([
    ['gbl.his.arc.azure.com', ['*'], true],
    ['gbl.his.arc.azure.com', ['gbl.his.arc.azure.com'], true],
    ['GBL.his.arc.azure.com.', ['gbl.his.arc.azure.com'], true],
    ['gbl.his.arc.azure.com', ['azure.com'], true],
    ['azure.com', ['azure.com'], true],
    ['notazure.com', ['azure.com'], false],
    ['gbl.his.arc.azure.com', ['.arc.azure.com'], true],
    ['arc.azure.com', ['.arc.azure.com'], false],
    ['gbl.his.arc.azure.com', ['*.his.arc.azure.com'], true],
    ['his.arc.azure.com', ['*.his.arc.azure.com'], false],
    ['management.azure.com', ['login.microsoftonline.com', '.his.arc.azure.com'], false],
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['11.1.2.3', ['10.0.0.0/8'], false],
    ['fd00::5', ['fd00::/8'], true],
    ['[fd00::5]', ['fd00::5'], true],
    ['127.0.0.1', ['127.0.0.1'], true],
    ['10.0.0.0', ['10.0.0.0.example'], false],
    ['gbl.his.arc.azure.com', ['10.0.0.0/8'], false],
    ['gbl.his.arc.azure.com', [], false],
  ])('%s with NO_PROXY %j → %s', (host, noProxy, expected) => {
    expect(bypassesProxy(host, noProxy)).toBe(expected);
  });

  it.each([
    [443, true],
    [8443, false],
  ])('an entry with a port matches only that port (%d → %s)', (port, expected) => {
    expect(bypassesProxy('gbl.his.arc.azure.com', ['his.arc.azure.com:443'], port)).toBe(expected);
  });
});

describe('redactProxyUrl', () => {
  it.each([
    ['http://user:secret@proxy.corp:3128', 'http://***@proxy.corp:3128'],
    ['http://user@proxy.corp:3128/', 'http://***@proxy.corp:3128'],
    ['http://proxy.corp:3128', 'http://proxy.corp:3128'],
    ['http://[fd00::1]:3128', 'http://[fd00::1]:3128'],
    ['not a url secret', '(unparseable proxy URL)'],
  ])('%s → %s', (url, shown) => {
    expect(redactProxyUrl(url)).toBe(shown);
    expect(redactProxyUrl(url)).not.toContain('secret');
  });
});

/** A raw server that answers any CONNECT with the given bytes (or nothing) and closes. */
async function rawProxy(answer: (socket: net.Socket) => void): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('openTunnel through a real CONNECT proxy', () => {
  let proxy: ProxyServer;
  let echo: net.Server;
  let echoPort: number;
  beforeAll(async () => {
    echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoPort = (echo.address() as net.AddressInfo).port;
    proxy = await startProxyServer({
      hosts: { 'gbl.his.arc.azure.com': '127.0.0.1' },
      credentials: { username: 'arc', password: 'p@ss' },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });
  afterEach(() => proxy.setMode('allow'));

  it('opens a tunnel that carries bytes to the endpoint', async () => {
    const result = await openTunnel(
      parseProxyUrl(proxy.url),
      'gbl.his.arc.azure.com',
      echoPort,
      AbortSignal.timeout(5000),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    result.socket.resume();
    result.socket.write('ping');
    const back = await new Promise<string>((resolve) =>
      result.socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    result.socket.destroy();
    expect(back).toBe('ping');
    expect(result.proxyAddress).toBe('127.0.0.1');
    expect(proxy.authorities.at(-1)).toBe(`gbl.his.arc.azure.com:${echoPort}`);
    expect(proxy.authorizations.at(-1)).toBeUndefined();
  });

  it('sends Basic credentials from the proxy URL, decoded', async () => {
    proxy.setMode('auth');
    const config = parseProxyUrl(`http://arc:p%40ss@127.0.0.1:${proxy.port}`);
    const result = await openTunnel(config, 'gbl.his.arc.azure.com', echoPort, AbortSignal.timeout(5000));
    if (result.ok) result.socket.destroy();
    expect(result.ok).toBe(true);
    expect(proxy.authorizations.at(-1)).toBe(`Basic ${Buffer.from('arc:p@ss').toString('base64')}`);
  });

  it.each([
    [
      'auth',
      (proxyUrl: string) => proxyUrl,
      'PROXY_AUTH_REQUIRED',
      (p: number) =>
        `proxy http://127.0.0.1:${p} requires authentication (407 Proxy Authentication Required); it offers Basic, Negotiate`,
    ],
    [
      'auth',
      (proxyUrl: string) => proxyUrl.replace('http://', 'http://arc:wrong@'),
      'PROXY_AUTH_REQUIRED',
      (p: number) =>
        `proxy http://***@127.0.0.1:${p} rejected the credentials in the proxy URL (407 Proxy Authentication Required); it offers Basic, Negotiate`,
    ],
    [
      'refuse',
      (proxyUrl: string) => proxyUrl,
      'PROXY_REFUSED',
      (p: number) => `proxy http://127.0.0.1:${p} refused CONNECT gbl.his.arc.azure.com:443: 403 Forbidden`,
    ],
    [
      'garbage',
      (proxyUrl: string) => proxyUrl,
      'PROXY_BAD_RESPONSE',
      (p: number) => `proxy http://127.0.0.1:${p} answered CONNECT with bytes that are not HTTP`,
    ],
  ] as const)('mode %s → %s', async (mode, url, code, message) => {
    proxy.setMode(mode);
    const result = await openTunnel(
      parseProxyUrl(url(proxy.url)),
      'gbl.his.arc.azure.com',
      443,
      AbortSignal.timeout(5000),
    );
    expect(result).toMatchObject({ ok: false, finding: { code, phase: 'proxy', message: message(proxy.port) } });
  });

  it('reports a destination the proxy cannot reach as PROXY_REFUSED with its status', async () => {
    const result = await openTunnel(parseProxyUrl(proxy.url), 'unknown.example', 443, AbortSignal.timeout(5000));
    expect(result).toMatchObject({
      ok: false,
      finding: {
        code: 'PROXY_REFUSED',
        message: `proxy http://127.0.0.1:${proxy.port} refused CONNECT unknown.example:443: 502 Bad Gateway`,
      },
    });
  });

  it('is PROXY_TIMEOUT when the proxy never answers CONNECT', async () => {
    proxy.setMode('silent');
    const result = await openTunnel(parseProxyUrl(proxy.url), 'gbl.his.arc.azure.com', 443, AbortSignal.timeout(300));
    expect(result).toMatchObject({
      ok: false,
      finding: {
        code: 'PROXY_TIMEOUT',
        message: `proxy http://127.0.0.1:${proxy.port} did not answer CONNECT gbl.his.arc.azure.com:443 in time`,
      },
    });
  });
});

describe('openTunnel against broken proxies', () => {
  it('is PROXY_UNREACHABLE when nothing listens at the proxy address', async () => {
    const gone = await startProxyServer();
    await gone.close();
    const result = await openTunnel(parseProxyUrl(gone.url), 'gbl.his.arc.azure.com', 443, AbortSignal.timeout(5000));
    expect(result).toMatchObject({
      ok: false,
      finding: {
        code: 'PROXY_UNREACHABLE',
        phase: 'proxy',
        message: `proxy ${gone.url} is unreachable: connection refused by 127.0.0.1:${gone.port}`,
      },
    });
  });

  it('is PROXY_TIMEOUT when the proxy does not accept the connection', async () => {
    const stalled = await startStalledListener();
    try {
      const url = `http://127.0.0.1:${stalled.port}`;
      const result = await openTunnel(parseProxyUrl(url), 'gbl.his.arc.azure.com', 443, AbortSignal.timeout(250));
      expect(result).toMatchObject({
        ok: false,
        finding: { code: 'PROXY_TIMEOUT', message: `proxy ${url} did not accept the connection in time` },
      });
    } finally {
      await stalled.close();
    }
  });

  it.each([
    [
      'closes without answering',
      (s: net.Socket) => s.end(),
      'PROXY_REFUSED',
      'closed the connection without answering CONNECT gbl.his.arc.azure.com:443',
    ],
    [
      'sends headers beyond the cap',
      (s: net.Socket) => s.write(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(MAX_PROXY_HEADER_BYTES)}\r\n`),
      'PROXY_BAD_RESPONSE',
      `sent more than ${MAX_PROXY_HEADER_BYTES} bytes of headers`,
    ],
    [
      'sends a malformed status line',
      (s: net.Socket) => s.end('HTTP/1.1 OK\r\n\r\n'),
      'PROXY_BAD_RESPONSE',
      'answered CONNECT with a malformed status line',
    ],
    [
      'stops in the middle of its answer',
      (s: net.Socket) => s.end('HTTP/1.1 200 Conn'),
      'PROXY_BAD_RESPONSE',
      'closed the connection in the middle of its answer to CONNECT',
    ],
    [
      'sends bytes after accepting',
      (s: net.Socket) => s.write('HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n'),
      'PROXY_BAD_RESPONSE',
      'sent unexpected bytes after accepting CONNECT gbl.his.arc.azure.com:443',
    ],
    [
      'answers 503 over HTTP/1.0',
      (s: net.Socket) => s.write('HTTP/1.0 503 Service Unavailable\r\nVia: squid\r\n\r\n'),
      'PROXY_REFUSED',
      'refused CONNECT gbl.his.arc.azure.com:443: 503 Service Unavailable',
    ],
  ] as const)('when the proxy %s', async (_name, answer, code, message) => {
    const raw = await rawProxy(answer);
    try {
      const result = await openTunnel(parseProxyUrl(raw.url), 'gbl.his.arc.azure.com', 443, AbortSignal.timeout(5000));
      expect(result).toMatchObject({ ok: false, finding: { code, message: `proxy ${raw.url} ${message}` } });
    } finally {
      await raw.close();
    }
  });
});
