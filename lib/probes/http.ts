import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Client } from 'undici';
import { finding } from './result';
import { errorCode } from './tcp';
import type { Finding, HttpFacts } from './types';

/** Default for {@link HttpRequestOptions.bodyBudgetMs}. */
export const DEFAULT_BODY_BUDGET_MS = 1000;

/** Options of {@link httpRequest}. */
export interface HttpRequestOptions {
  /**
   * Longest time spent reading the body once the headers are in. The status already proves the path, so a
   * trickling body only shortens `bodyBytes`; it never fails the probe. Default {@link DEFAULT_BODY_BUDGET_MS}.
   */
  bodyBudgetMs?: number;
  /** User-Agent header. Default `arcmon`. */
  userAgent?: string;
}

/** Outcome of the HTTP phase. Any status is success: it proves the path end to end. */
export type HttpRequestResult =
  | { ok: true; facts: HttpFacts; firstByteMs: number; durationMs: number }
  | { ok: false; finding: Finding; durationMs: number };

function hostForUrl(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function classify(error: unknown, host: string): Finding {
  const code = errorCode(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return finding('CONNECTION_RESET', `connection reset before ${host} answered the HTTP request`, { phase: 'http' });
  }
  if (code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED') {
    return finding('HTTP_PROTOCOL_ERROR', `${host} closed the connection without an HTTP response (${reason})`);
  }
  return finding('HTTP_PROTOCOL_ERROR', `${host} did not answer with valid HTTP: ${reason}`);
}

/**
 * Sends one `GET path` (HTTP/1.1, no keep-alive) over the already-established TLS session, so the DNS, TCP
 * and TLS timings stay the probe's own. Records the status, the `server` header and the time to the response
 * headers; reads at most `maxBodyBytes` of body within the body budget, then drops the connection.
 * Failures: `signal` aborted before the headers → HTTP_TIMEOUT; not HTTP → HTTP_PROTOCOL_ERROR; reset →
 * CONNECTION_RESET (phase http). Never rejects; the socket is always destroyed when it returns.
 */
export async function httpRequest(
  tlsSocket: TLSSocket | Duplex,
  host: string,
  port: number,
  path: string,
  signal: AbortSignal,
  maxBodyBytes: number,
  options: HttpRequestOptions = {},
): Promise<HttpRequestResult> {
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let handedOver = false;
  const client = new Client(`https://${hostForUrl(host)}:${port}`, {
    // Hand undici our connection once; it must never open one of its own. The callback must not run
    // synchronously: undici calls the connector from inside its dispatch loop and would not resume it.
    connect: (_options, callback) => {
      const first = !handedOver;
      handedOver = true;
      process.nextTick(() =>
        first
          ? callback(null, tlsSocket as TLSSocket)
          : callback(new Error('the probe connection was already used'), null),
      );
    },
    pipelining: 0,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  try {
    if (signal.aborted) {
      return { ok: false, finding: timeout(host), durationMs: elapsed() };
    }
    let response: Awaited<ReturnType<Client['request']>>;
    try {
      response = await client.request({
        method: 'GET',
        path,
        signal,
        headers: { 'user-agent': options.userAgent ?? 'arcmon', accept: '*/*' },
      });
    } catch (error) {
      const f = signal.aborted ? timeout(host) : classify(error, host);
      return { ok: false, finding: f, durationMs: elapsed() };
    }
    const firstByteMs = elapsed();
    const bodyBytes = await readBounded(response.body, maxBodyBytes, options.bodyBudgetMs ?? DEFAULT_BODY_BUDGET_MS);
    const server = response.headers.server;
    const facts: HttpFacts = {
      status: response.statusCode,
      bodyBytes,
      ...(server === undefined ? {} : { server: Array.isArray(server) ? server.join(', ') : server }),
    };
    return { ok: true, facts, firstByteMs, durationMs: elapsed() };
  } finally {
    tlsSocket.destroy();
    await client.destroy().catch(() => undefined);
  }
}

function timeout(host: string): Finding {
  return finding('HTTP_TIMEOUT', `no HTTP response from ${host} in time`);
}

/** Counts body bytes up to `cap`, stopping at the end, the cap, the budget, or an error mid-body. */
async function readBounded(body: NodeJS.ReadableStream & { destroy(): void }, cap: number, budgetMs: number) {
  let bytes = 0;
  const timer = setTimeout(() => body.destroy(), budgetMs);
  try {
    for await (const chunk of body) {
      bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      if (bytes >= cap) break;
    }
  } catch {
    // Cut short by the budget, the cap or the peer: the status already proves the path.
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
  return Math.min(bytes, cap);
}
