import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * A real Application Insights ingestion endpoint for tests: HTTPS on 127.0.0.1, port 0. It accepts what the SDK
 * sends to `POST {IngestionEndpoint}/v2.1/track` (a JSON array of envelopes, plain or gzip, or newline-delimited
 * JSON), records the envelopes and answers like the real service ("Breeze"): 200 with
 * `{ itemsReceived, itemsAccepted, errors }`, or the status it was switched to (`setStatus`). Every request is
 * recorded, whatever its path, so a test can prove that nothing but `/v2.1/track` was called (live metrics
 * would arrive as `/QuickPulseService.svc/...`: the connection string points live metrics here too).
 *
 * Its certificate comes from the test CA that test/helpers/globalSetup.ts puts into NODE_EXTRA_CA_CERTS, so the
 * SDK's own HTTPS client trusts it, as it would trust the real endpoint.
 */

/** One telemetry item as it travels on the wire. */
export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  sampleRate?: number;
  tags?: Record<string, string>;
  data: { baseType: string; baseData: Record<string, unknown> };
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Status the server answered with. */
  status: number;
  /** Envelopes in the body (0 for anything but a track call). */
  items: number;
  /** The Authorization header, when one was sent (Entra ID ingestion sends a bearer token). */
  authorization?: string;
}

export interface IngestionServerOptions {
  /** Certificate and key to serve. Default: the leaf globalSetup wrote to `$ARCMON_TEST_INGESTION_CERT_DIR`. */
  tls?: { certPem: string; keyPem: string };
}

export interface IngestionServer {
  /** `https://127.0.0.1:PORT/` */
  readonly url: string;
  readonly instrumentationKey: string;
  /** Points both ingestion and live metrics at this server. */
  readonly connectionString: string;
  /** Envelopes answered with 200, in arrival order. */
  readonly envelopes: readonly Envelope[];
  /** Every request, whatever its path or outcome. */
  readonly requests: readonly RecordedRequest[];
  byBaseType(baseType: string): Envelope[];
  /** Resolves as soon as `pred(envelopes)` holds; rejects after `timeoutMs` (default 10 000) saying what arrived. */
  waitFor(pred: (envelopes: readonly Envelope[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Status for the next track calls (200 accepts; 429, 500, 503 reject every item). */
  setStatus(status: number, opts?: { retryAfterSeconds?: number }): void;
  close(): Promise<void>;
}

/** Environment variable naming the directory with the server's `leaf.pem` and `leaf-key.pem` (set by globalSetup). */
export const INGESTION_CERT_DIR_ENV = 'ARCMON_TEST_INGESTION_CERT_DIR';

const TRACK_PATH = '/v2.1/track';

function loadDefaultTls(): { certPem: string; keyPem: string } {
  const dir = process.env[INGESTION_CERT_DIR_ENV];
  if (!dir) {
    throw new Error(
      `${INGESTION_CERT_DIR_ENV} is not set: run the tests through vitest (globalSetup makes the ingestion CA), or pass opts.tls`,
    );
  }
  return {
    certPem: readFileSync(join(dir, 'leaf.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'leaf-key.pem'), 'utf8'),
  };
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) return false;
  const data = (value as { data?: unknown }).data;
  return (
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { baseType?: unknown }).baseType === 'string'
  );
}

/** A JSON array, a single object, or one JSON object per line. */
export function parseTrackBody(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  } catch {
    return trimmed
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line): unknown => JSON.parse(line));
  }
}

export async function startIngestionServer(opts: IngestionServerOptions = {}): Promise<IngestionServer> {
  const tls = opts.tls ?? loadDefaultTls();
  const instrumentationKey = randomUUID();
  const envelopes: Envelope[] = [];
  const requests: RecordedRequest[] = [];
  const listeners = new Set<() => void>();
  let status = 200;
  let retryAfterSeconds: number | undefined;

  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const method = req.method ?? 'GET';
      const auth = req.headers.authorization === undefined ? {} : { authorization: req.headers.authorization };
      if (method !== 'POST' || path !== TRACK_PATH) {
        requests.push({ method, path, status: 404, items: 0, ...auth });
        res.writeHead(404).end();
        notify();
        return;
      }
      let items: unknown[];
      try {
        const raw = Buffer.concat(chunks);
        const body = /gzip/i.test(req.headers['content-encoding'] ?? '') ? gunzipSync(raw) : raw;
        items = parseTrackBody(body.toString('utf8'));
      } catch (error) {
        requests.push({ method, path, status: 400, items: 0, ...auth });
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            itemsReceived: 0,
            itemsAccepted: 0,
            errors: [{ index: 0, statusCode: 400, message: String(error) }],
          }),
        );
        notify();
        return;
      }
      const answer = status;
      requests.push({ method, path, status: answer, items: items.length, ...auth });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer === 200) {
        envelopes.push(...items.filter(isEnvelope));
        res.writeHead(200, headers);
        res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
      } else {
        if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
        res.writeHead(answer, headers);
        const errors = items.map((_, index) => ({
          index,
          statusCode: answer,
          message: `test server answers ${answer}`,
        }));
        res.end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: 0, errors }));
      }
      notify();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}/`;

  return {
    url,
    instrumentationKey,
    connectionString: `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${url};LiveEndpoint=${url}`,
    envelopes,
    requests,
    byBaseType: (baseType) => envelopes.filter((e) => e.data.baseType === baseType),
    waitFor(pred, timeoutMs = 10_000) {
      if (pred(envelopes)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(envelopes)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          const seen = requests.map((r) => `${r.method} ${r.path} -> ${r.status} (${r.items} items)`).join('; ');
          reject(
            new Error(
              `ingestion server: condition not met within ${timeoutMs} ms; ${envelopes.length} envelopes accepted; requests: ${seen || 'none'}`,
            ),
          );
        }, timeoutMs);
        listeners.add(check);
      });
    },
    setStatus(next, statusOpts = {}) {
      status = next;
      retryAfterSeconds = statusOpts.retryAfterSeconds;
    },
    close() {
      listeners.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
