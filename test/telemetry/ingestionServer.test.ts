import https from 'node:https';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startIngestionServer, type IngestionServer } from '../helpers/ingestionServer';

/** POSTs with Node's default trust store only: it works only if NODE_EXTRA_CA_CERTS reached this worker. */
function post(
  server: IngestionServer,
  path: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, server.url), { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const envelope = (name: string) => ({
  name: 'Microsoft.ApplicationInsights.Event',
  time: '2026-11-21T10:00:00.000Z',
  data: { baseType: 'EventData', baseData: { ver: 2, name } },
});

let server: IngestionServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('local ingestion server', () => {
  it.each([
    ['a JSON array', JSON.stringify([envelope('a'), envelope('b')]), {}],
    ['a gzip JSON array', gzipSync(JSON.stringify([envelope('a'), envelope('b')])), { 'content-encoding': 'gzip' }],
    ['newline-delimited JSON', `${JSON.stringify(envelope('a'))}\n${JSON.stringify(envelope('b'))}\n`, {}],
  ])('accepts %s over TLS trusted by the worker, and answers like Breeze', async (_, body, headers) => {
    server = await startIngestionServer();
    const answer = await post(server, '/v2.1/track', body, headers);

    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ itemsReceived: 2, itemsAccepted: 2, errors: [] });
    expect(server.byBaseType('EventData').map((e) => e.data.baseData.name)).toEqual(['a', 'b']);
  });

  it('refuses with the status it is switched to, keeps nothing, and says when to retry', async () => {
    server = await startIngestionServer();
    server.setStatus(429, { retryAfterSeconds: 7 });
    const answer = await post(server, '/v2.1/track', JSON.stringify([envelope('a')]));

    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('7');
    expect(JSON.parse(answer.body)).toEqual({
      itemsReceived: 1,
      itemsAccepted: 0,
      errors: [{ index: 0, statusCode: 429, message: 'test server answers 429' }],
    });
    expect(server.envelopes).toHaveLength(0);
    expect(server.requests).toEqual([{ method: 'POST', path: '/v2.1/track', status: 429, items: 1 }]);
  });

  it('records calls to any other path, such as live metrics', async () => {
    server = await startIngestionServer();
    const answer = await post(server, '/QuickPulseService.svc/ping?ikey=x', '{}');

    expect(answer.status).toBe(404);
    expect(server.requests).toEqual([{ method: 'POST', path: '/QuickPulseService.svc/ping', status: 404, items: 0 }]);
  });

  it('waits for envelopes, and says what arrived when they do not', async () => {
    server = await startIngestionServer();
    const waiting = server.waitFor((envelopes) => envelopes.length === 1, 5_000);
    await post(server, '/v2.1/track', JSON.stringify([envelope('a')]));
    await expect(waiting).resolves.toBeUndefined();

    await expect(server.waitFor((envelopes) => envelopes.length === 2, 50)).rejects.toThrow(
      new Error(
        'ingestion server: condition not met within 50 ms; 1 envelopes accepted; requests: POST /v2.1/track -> 200 (1 items)',
      ),
    );
  });

  it('builds a connection string the SDK accepts, pointing ingestion and live metrics here', async () => {
    server = await startIngestionServer();
    expect(server.connectionString).toBe(
      `InstrumentationKey=${server.instrumentationKey};IngestionEndpoint=${server.url};LiveEndpoint=${server.url}`,
    );
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
  });
});
