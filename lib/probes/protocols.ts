/**
 * Protocol checks some consumers need beyond one HTTPS request, each on a second connection over the same path
 * (direct or through the proxy) after the main probe proved TLS and HTTP:
 * - `websocket`: an HTTP Upgrade to WebSocket (the notification relay and the bridge's control channel use
 *   `wss://`); a proxy or inspection device that refuses `Upgrade` breaks them while plain HTTPS works.
 * - `http2`: ALPN offers h2 and http/1.1 and must get h2 (the bridge's data plane client speaks HTTP/2; an
 *   inspecting device that downgrades or breaks it shows there as "http2: server sent GOAWAY").
 * The certificate was judged by the main probe; these connections only test the protocol, so they do not verify
 * it again. Never throws for network conditions.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Target } from '../catalog/types';
import { finding } from './result';
import type { Finding } from './types';

/** RFC 6455 §1.3: the GUID appended to the key before hashing. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 16 * 1024;

type Reopen = () => Promise<Duplex | undefined>;

/** Runs the target's protocol checks in order; returns their findings (none when all pass). */
export async function protocolChecks(target: Target, reopen: Reopen, signal: AbortSignal): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const check of target.checks ?? []) {
    const found =
      check === 'websocket' ? await checkWebSocket(target, reopen, signal) : await checkHttp2(target, reopen, signal);
    if (found) findings.push(found);
  }
  return findings;
}

/** TLS over a reopened path with the given ALPN offer; undefined with a reason when the path or handshake fails. */
async function secure(
  target: Target,
  reopen: Reopen,
  alpn: string[],
  signal: AbortSignal,
): Promise<{ socket: tls.TLSSocket } | { problem: string }> {
  const raw = await reopen();
  if (!raw) return { problem: 'a second connection over the same path could not be opened' };
  return new Promise((resolve) => {
    const socket = tls.connect({
      socket: raw,
      servername: target.host,
      ALPNProtocols: alpn,
      rejectUnauthorized: false,
    });
    const fail = (problem: string) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      raw.destroy();
      resolve({ problem });
    };
    const onAbort = () => fail('the probe deadline passed during the TLS handshake');
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('secureConnect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ socket });
    });
    socket.once('error', (err: Error) => fail(`the TLS handshake failed (${err.message})`));
  });
}

/** Reads an HTTP response head (status line and headers). */
function readHead(
  socket: Duplex,
  signal: AbortSignal,
): Promise<{ status: number; headers: Map<string, string> } | { problem: string }> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (value: { status: number; headers: Map<string, string> } | { problem: string }) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > MAX_HEAD) finish({ problem: 'the answer to the upgrade is not HTTP' });
        return;
      }
      const [statusLine = '', ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
      if (!status) return finish({ problem: 'the answer to the upgrade is not HTTP' });
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      finish({ status: Number(status), headers });
    };
    const onClose = () => finish({ problem: 'the connection was closed without an answer to the upgrade' });
    const onAbort = () => finish({ problem: 'no answer to the upgrade before the probe deadline' });
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Sends `GET <httpPath>` with `Upgrade: websocket` and expects `101 Switching Protocols` with the right
 * `Sec-WebSocket-Accept`. A 401 also counts as the upgrade reaching the service (Azure Relay asks for its token
 * before it switches); anything else — another status, a close, no answer — is WEBSOCKET_REFUSED.
 */
export async function checkWebSocket(
  target: Target,
  reopen: Reopen,
  signal: AbortSignal,
): Promise<Finding | undefined> {
  const refused = (why: string) =>
    finding(
      'WEBSOCKET_REFUSED',
      `WebSocket upgrade to wss://${target.host}${target.httpPath} failed: ${why}; plain HTTPS works on this path`,
    );
  const opened = await secure(target, reopen, ['http/1.1'], signal);
  if ('problem' in opened) return refused(opened.problem);
  const { socket } = opened;
  try {
    const key = randomBytes(16).toString('base64');
    socket.write(
      [
        `GET ${target.httpPath} HTTP/1.1`,
        `Host: ${target.host}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
        'User-Agent: arcmon',
        '',
        '',
      ].join('\r\n'),
    );
    const head = await readHead(socket, signal);
    if ('problem' in head) return refused(head.problem);
    if (head.status === 401) return undefined;
    if (head.status !== 101) return refused(`the path answered HTTP ${head.status} instead of 101 Switching Protocols`);
    const expected = createHash('sha1')
      .update(key + WEBSOCKET_GUID)
      .digest('base64');
    if (
      head.headers.get('upgrade')?.toLowerCase() !== 'websocket' ||
      head.headers.get('sec-websocket-accept') !== expected
    ) {
      return refused('the 101 answer does not complete the WebSocket handshake (Upgrade / Sec-WebSocket-Accept)');
    }
    return undefined;
  } finally {
    socket.destroy();
  }
}

/** Offers h2 and http/1.1 by ALPN; anything but h2 is HTTP2_REFUSED. */
export async function checkHttp2(target: Target, reopen: Reopen, signal: AbortSignal): Promise<Finding | undefined> {
  const opened = await secure(target, reopen, ['h2', 'http/1.1'], signal);
  if ('problem' in opened) {
    return finding('HTTP2_REFUSED', `HTTP/2 to ${target.host} could not be tried: ${opened.problem}`);
  }
  const negotiated = opened.socket.alpnProtocol;
  opened.socket.destroy();
  if (negotiated === 'h2') return undefined;
  return finding(
    'HTTP2_REFUSED',
    `${target.host} offered h2 and http/1.1 by ALPN and got ${negotiated || 'no protocol'}: a device on the path downgrades HTTP/2 ` +
      '(an inspecting proxy that breaks HTTP/2 shows in the bridge as "http2: server sent GOAWAY")',
  );
}
