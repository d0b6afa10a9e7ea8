import * as net from 'node:net';
import { inCidr, parseCidr, type Cidr } from './addresses';
import { finding } from './result';
import { connectTcp, hostPort } from './tcp';
import type { Finding, ProxyConfig } from './types';

/** Hard cap on the proxy's answer to CONNECT (status line and headers). */
export const MAX_PROXY_HEADER_BYTES = 16 * 1024;

/** Outcome of asking a proxy for a tunnel. `durationMs` covers TCP to the proxy plus the CONNECT exchange. */
export type TunnelResult =
  | { ok: true; socket: net.Socket; connectMs: number; durationMs: number; proxyAddress: string }
  | { ok: false; finding: Finding; connectMs?: number; durationMs: number };

/**
 * Parses a proxy URL (`http://[user:pass@]host[:port]`, port 80 when absent; a value without a scheme is read
 * as http, as curl does). Throws a configuration error for anything else: only plain-HTTP proxies speaking
 * CONNECT are supported (the tunnel inside is still TLS end to end).
 * @param source names the setting in error messages, e.g. `HTTPS_PROXY` or `--proxy`.
 */
export function parseProxyUrl(text: string, noProxy: string | string[] = [], source = 'proxy URL'): ProxyConfig {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${source}: not a valid URL (expected http://host:port)`);
  }
  if (url.protocol === 'https:') {
    throw new Error(
      `${source}: https:// proxy URLs are not supported; give the proxy as http://host:port (the tunnel to the endpoint is still TLS)`,
    );
  }
  if (url.protocol !== 'http:') {
    throw new Error(
      `${source}: unsupported proxy scheme ${url.protocol.replace(/:$/, '')}; only http:// proxies are supported`,
    );
  }
  if (url.hostname === '') throw new Error(`${source}: the proxy URL has no host`);
  try {
    // Decoded again for every tunnel: a malformed escape must fail here, once, not in every probe.
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new Error(
      `${source}: the user name or password has a malformed % escape; write a literal % as %25 (e.g. http://user:p%25ss@proxy:3128)`,
    );
  }
  return { url, noProxy: splitNoProxy(noProxy) };
}

/** Splits a NO_PROXY value (comma or whitespace separated) into lower-case entries. */
export function splitNoProxy(value: string | string[]): string[] {
  const parts = Array.isArray(value) ? value.flatMap((v) => v.split(/[\s,]+/)) : value.split(/[\s,]+/);
  return parts.map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
}

/**
 * Reads the proxy from an environment map: `HTTPS_PROXY` (or `https_proxy`) and `NO_PROXY` (or `no_proxy`).
 * Returns undefined when no proxy is set. Throws a configuration error for an unsupported proxy URL.
 */
export function proxyFromEnv(env: Record<string, string | undefined>): ProxyConfig | undefined {
  const [name, value] = firstSet(env, ['HTTPS_PROXY', 'https_proxy']);
  if (name === undefined || value === undefined) return undefined;
  const [, noProxy] = firstSet(env, ['NO_PROXY', 'no_proxy']);
  return parseProxyUrl(value, noProxy ?? '', name);
}

function firstSet(env: Record<string, string | undefined>, names: string[]): [string?, string?] {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return [name, value];
  }
  return [];
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** A NO_PROXY CIDR entry that is not a valid range matches nothing, as in Go's httpproxy. */
function inNoProxyRange(ip: string, entry: string): boolean {
  let range: Cidr;
  try {
    range = parseCidr(entry);
  } catch {
    return false;
  }
  return inCidr(ip, range);
}

/**
 * Whether `host` is exempt from the proxy under NO_PROXY entries, with the Go rules the Connected Machine agent
 * follows: `*` exempts everything; `name` exempts the name and its subdomains; `.suffix` and `*.suffix` exempt
 * subdomains only; an IP or CIDR exempts matching IP literals; an entry with `:port` matches only that port
 * (when `port` is given). Matching is case-insensitive and ignores a trailing dot.
 */
export function bypassesProxy(host: string, noProxy: readonly string[], port?: number): boolean {
  const name = unbracket(host.trim().toLowerCase()).replace(/\.$/, '');
  const hostIsIp = net.isIP(name) !== 0;
  for (const raw of noProxy) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
    if (portMatch?.[1] !== undefined && net.isIPv6(unbracket(entry)) === false) {
      if (port !== undefined && Number(portMatch[2]) !== port) continue;
      entry = portMatch[1];
    }
    entry = unbracket(entry).replace(/\.$/, '');
    if (entry.includes('/')) {
      if (hostIsIp && inNoProxyRange(name, entry)) return true;
      continue;
    }
    if (net.isIP(entry) !== 0) {
      if (hostIsIp && sameIp(name, entry)) return true;
      continue;
    }
    if (hostIsIp) continue;
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.')) {
      if (name.endsWith(entry)) return true;
    } else if (name === entry || name.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

function sameIp(a: string, b: string): boolean {
  const family = net.isIP(a);
  if (family !== net.isIP(b)) return false;
  const list = new net.BlockList();
  list.addAddress(b, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The proxy URL as it may be shown or stored: scheme, host and port only. Credentials are replaced by `***`
 * (so a reader knows some were configured); anything unparseable is not echoed at all.
 */
export function redactProxyUrl(url: URL | string): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(unparseable proxy URL)';
  }
  const credentials = parsed.username !== '' || parsed.password !== '' ? '***@' : '';
  return `${parsed.protocol}//${credentials}${parsed.host}`;
}

function proxyEndpoint(proxy: ProxyConfig): { host: string; port: number } {
  return { host: unbracket(proxy.url.hostname), port: proxy.url.port === '' ? 80 : Number(proxy.url.port) };
}

function basicCredentials(url: URL): string | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return Buffer.from(pair, 'utf8').toString('base64');
}

interface ProxyAnswer {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  /** Bytes after the header block. */
  rest: Buffer;
}

type HeadRead = { kind: 'answer'; answer: ProxyAnswer } | { kind: 'failure'; finding: Finding };

function parseHead(head: string, rest: Buffer, who: string): HeadRead {
  const lines = head.split(/\r?\n/);
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (status?.[1] === undefined) {
    return {
      kind: 'failure',
      finding: finding('PROXY_BAD_RESPONSE', `${who} answered CONNECT with a malformed status line`),
    };
  }
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      return { kind: 'failure', finding: finding('PROXY_BAD_RESPONSE', `${who} sent a malformed header line`) };
    }
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { kind: 'answer', answer: { status: Number(status[1]), reason: (status[2] ?? '').trim(), headers, rest } };
}

/** Reads the proxy's answer up to the blank line, bounded in size; resolves on the first verdict. */
function readProxyAnswer(socket: net.Socket, signal: AbortSignal, who: string, authority: string): Promise<HeadRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (read: HeadRead) => {
      socket.removeListener('data', onData);
      socket.removeListener('end', onClosed);
      socket.removeListener('close', onClosed);
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
      socket.pause();
      resolve(read);
    };
    const bad = (why: string) => finish({ kind: 'failure', finding: finding('PROXY_BAD_RESPONSE', `${who} ${why}`) });
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const buffer = Buffer.concat(chunks);
      const prefix = buffer.subarray(0, 5).toString('latin1');
      if (!'HTTP/'.startsWith(prefix)) return bad('answered CONNECT with bytes that are not HTTP');
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) {
        if (size > MAX_PROXY_HEADER_BYTES) bad(`sent more than ${MAX_PROXY_HEADER_BYTES} bytes of headers`);
        return;
      }
      if (end > MAX_PROXY_HEADER_BYTES) return bad(`sent more than ${MAX_PROXY_HEADER_BYTES} bytes of headers`);
      finish(parseHead(buffer.subarray(0, end).toString('latin1'), buffer.subarray(end + 4), who));
    };
    const onClosed = () => {
      if (size === 0) {
        finish({
          kind: 'failure',
          finding: finding('PROXY_REFUSED', `${who} closed the connection without answering CONNECT ${authority}`),
        });
      } else {
        bad('closed the connection in the middle of its answer to CONNECT');
      }
    };
    const onError = (error: Error) => {
      finish({
        kind: 'failure',
        finding: finding(
          'PROXY_REFUSED',
          `${who} dropped the connection during CONNECT ${authority}: ${error.message}`,
        ),
      });
    };
    const onAbort = () =>
      finish({
        kind: 'failure',
        finding: finding('PROXY_TIMEOUT', `${who} did not answer CONNECT ${authority} in time`),
      });
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function authSchemes(headers: Array<[string, string]>): string[] {
  return headers
    .filter(([name]) => name === 'proxy-authenticate')
    .map(([, value]) => value.split(/[\s,]/)[0] ?? '')
    .filter((scheme) => scheme !== '');
}

/**
 * Opens a tunnel to `host:port` through an HTTP proxy with `CONNECT`, sending Basic credentials when the proxy
 * URL has them. Never rejects; failures are proxy findings, never confused with the endpoint's own:
 * the proxy unreachable → PROXY_UNREACHABLE; 407 → PROXY_AUTH_REQUIRED (naming the offered schemes);
 * any other non-2xx → PROXY_REFUSED with status and reason; non-HTTP bytes or a header block over
 * {@link MAX_PROXY_HEADER_BYTES} → PROXY_BAD_RESPONSE; `signal` aborted → PROXY_TIMEOUT.
 * On success the caller owns the socket, positioned at the first byte of the tunnel.
 */
export async function openTunnel(
  proxy: ProxyConfig,
  host: string,
  port: number,
  signal: AbortSignal,
): Promise<TunnelResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const who = `proxy ${redactProxyUrl(proxy.url)}`;
  const authority = hostPort(unbracket(host), port);
  const endpoint = proxyEndpoint(proxy);

  const tcp = await connectTcp(endpoint.host, endpoint.port, signal);
  if (!tcp.ok) {
    const code = tcp.finding.code === 'TCP_TIMEOUT' ? 'PROXY_TIMEOUT' : 'PROXY_UNREACHABLE';
    const why =
      code === 'PROXY_TIMEOUT' ? 'did not accept the connection in time' : `is unreachable: ${tcp.finding.message}`;
    return { ok: false, finding: finding(code, `${who} ${why}`), connectMs: tcp.durationMs, durationMs: elapsed() };
  }
  const socket = tcp.socket;
  const connectMs = tcp.durationMs;
  const proxyAddress = socket.remoteAddress ?? endpoint.host;
  const fail = (f: Finding): TunnelResult => {
    socket.destroy();
    return { ok: false, finding: f, connectMs, durationMs: elapsed() };
  };

  const credentials = basicCredentials(proxy.url);
  const request = [
    `CONNECT ${authority} HTTP/1.1`,
    `Host: ${authority}`,
    ...(credentials ? [`Proxy-Authorization: Basic ${credentials}`] : []),
    '',
    '',
  ].join('\r\n');
  socket.write(request);

  const read = await readProxyAnswer(socket, signal, who, authority);
  if (read.kind === 'failure') return fail(read.finding);
  const { status, reason, headers, rest } = read.answer;
  const said = `${status}${reason ? ` ${reason}` : ''}`;
  if (status === 407) {
    const schemes = authSchemes(headers);
    const offered = schemes.length > 0 ? `; it offers ${schemes.join(', ')}` : '';
    const sent = credentials ? 'rejected the credentials in the proxy URL' : 'requires authentication';
    return fail(finding('PROXY_AUTH_REQUIRED', `${who} ${sent} (${said})${offered}`));
  }
  if (status < 200 || status > 299) {
    return fail(finding('PROXY_REFUSED', `${who} refused CONNECT ${authority}: ${said}`));
  }
  // A TLS server never speaks first, so bytes after a successful CONNECT answer are not from the endpoint.
  if (rest.length > 0) {
    return fail(finding('PROXY_BAD_RESPONSE', `${who} sent unexpected bytes after accepting CONNECT ${authority}`));
  }
  return { ok: true, socket, connectMs, durationMs: elapsed(), proxyAddress };
}
