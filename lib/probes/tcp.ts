import * as net from 'node:net';
import { finding } from './result';
import type { Finding } from './types';

/** Outcome of one TCP connection attempt. */
export type TcpConnectResult =
  { ok: true; socket: net.Socket; durationMs: number } | { ok: false; finding: Finding; durationMs: number };

/** `host:port`, with IPv6 literals bracketed. */
export function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Node socket errors carry the errno name in `code`. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

/** Classifies a failed connect. Exported for the proxy probe, which reuses the errno reading. */
export function connectFailure(error: unknown, address: string, port: number): Finding {
  const target = hostPort(address, port);
  const code = errorCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return finding('TCP_REFUSED', `connection refused by ${target}`);
    // A local firewall (e.g. an OUTPUT reject rule) surfaces as a permission error, not a refusal from the peer.
    case 'EPERM':
    case 'EACCES':
      return finding('TCP_REFUSED', `connection to ${target} denied by local policy (${code})`);
    case 'ETIMEDOUT':
      return finding('TCP_TIMEOUT', `no answer from ${target}: the operating system gave up connecting (ETIMEDOUT)`);
    case 'ECONNRESET':
      return finding('CONNECTION_RESET', `connection to ${target} reset while connecting`, { phase: 'connect' });
    case 'ENETUNREACH':
      return finding('NET_UNREACHABLE', `no route to ${target}: network unreachable`);
    case 'EHOSTUNREACH':
      return finding('NET_UNREACHABLE', `no route to ${target}: host unreachable`);
    default: {
      const reason = error instanceof Error ? error.message : String(error);
      return finding('NET_UNREACHABLE', `cannot connect to ${target}: ${reason}`);
    }
  }
}

/**
 * Opens a TCP connection to `address:port` (an IP address: name resolution is the DNS probe's job).
 * Never rejects: a refusal, an unreachable network, a reset or an abort of `signal` (reported as
 * TCP_TIMEOUT, which is what a firewall that silently drops the SYN looks like) come back as a finding.
 * The caller owns the returned socket and must destroy it.
 */
export function connectTcp(address: string, port: number, signal: AbortSignal): Promise<TcpConnectResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const timeout = () =>
    finding('TCP_TIMEOUT', `no answer from ${hostPort(address, port)} in time: the connection attempt was dropped`);
  if (signal.aborted) return Promise.resolve({ ok: false, finding: timeout(), durationMs: 0 });

  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, noDelay: true });
    const done = (result: TcpConnectResult) => {
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      socket.removeListener('error', onError);
      resolve(result);
    };
    const onConnect = () => {
      // Later errors belong to whoever uses the socket; keep one listener so none is ever unhandled.
      socket.on('error', ignore);
      done({ ok: true, socket, durationMs: elapsed() });
    };
    const onError = (error: Error) => {
      socket.destroy();
      done({ ok: false, finding: connectFailure(error, address, port), durationMs: elapsed() });
    };
    const onAbort = () => {
      socket.on('error', ignore);
      socket.destroy();
      done({ ok: false, finding: timeout(), durationMs: elapsed() });
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function ignore(): void {}
