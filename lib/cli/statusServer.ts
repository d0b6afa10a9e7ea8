import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { MonitorStore, TableStore } from '../store';
import { UsageError } from './options';

/** `--http 127.0.0.1:8080` as host and port; the host must be an IP address (loopback is the intended one). */
export function parseListen(value: string, option: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || isIP(m[1] as string) === 0 || port > 65535) {
    throw new UsageError(`${option} must be IP:PORT such as 127.0.0.1:8080, got "${value}"`);
  }
  return { host: m[1] as string, port };
}

/** The page's files: next to the bundle (dist/statusPage) or, from the sources, beside this file. */
function assetsDir(): string {
  const dir = join(__dirname, 'statusPage');
  if (existsSync(dir)) return dir;
  throw new Error(`the status page assets are missing (${dir})`);
}

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/status.js': 'status.js',
  '/status.css': 'status.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

function hasHistory(store: MonitorStore): store is TableStore {
  return typeof (store as Partial<TableStore>).history === 'function';
}

/**
 * Serves the local status page of one site: the static page (shipped in the package, no CDN), `/api/status`
 * (latest states and open incidents) and `/api/history` (every endpoint's results over the last 24 hours).
 */
export async function startStatusServer(
  listen: { host: string; port: number },
  site: string,
  store: MonitorStore,
): Promise<{ url: string; close(): Promise<void> }> {
  const dir = assetsDir();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(body);
    };
    const json = (body: unknown) => send(200, 'application/json', JSON.stringify(body));
    void (async () => {
      if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
      const asset = ASSETS[path];
      if (asset)
        return send(200, TYPES[asset.split('.').pop() as string] ?? 'text/plain', await readFile(join(dir, asset)));
      if (path === '/api/status') return json({ site, ...(await store.latest(site)) });
      if (path === '/api/history') {
        const since = new Date(Date.now() - 24 * 3_600_000);
        const { states } = await store.latest(site);
        const points: Record<string, unknown[]> = {};
        if (hasHistory(store)) {
          for (const s of states) points[s.targetId] = await store.history(site, s.targetId, since);
        }
        return json({ site, since: since.toISOString(), points });
      }
      send(404, 'text/plain', 'not found\n');
    })().catch((err: unknown) => send(500, 'text/plain', `${err instanceof Error ? err.message : String(err)}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
