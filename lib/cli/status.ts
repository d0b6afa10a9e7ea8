import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { credentialFor } from '../monitor/deps';
import type { EndpointState, Incident } from '../monitor/types';
import { createTableStore, startAzurite, type HistoryPoint, type TableStore } from '../store';
import { EXIT, type CheckIo } from './check';
import { defaultDataDir, siteDir } from './dataDir';
import { UsageError } from './options';
import { elideMiddle, wrap } from './render';

export const STATUS_USAGE = `Usage: arcmon status [--site NAME] [--data-dir DIR] [--output table|json]
       arcmon history ENDPOINT [--since 24h] [--site NAME] [--data-dir DIR] [--output table|json]

status: the latest verdict of every endpoint and the open incidents. history: one endpoint's results (ENDPOINT as
the table prints it, host:port; a bare host means port 443) over the last --since (30m, 24h, 7d; default 24h).

They read the store the runner uses: with ARCMON_STORAGE_CONNECTION_STRING or ARCMON_TABLE_ENDPOINT (and the
identity of arcmon run) the tables; otherwise the embedded store of each site under the data directory (--data-dir,
ARCMON_DATA_DIR, default as for arcmon run), read from a copy, so a running monitor is never disturbed.`;

interface Source {
  site?: string;
  store: TableStore;
  close(): Promise<void>;
}

/** The stores to read: the configured tables, or a snapshot of each local site's embedded store. */
async function openSources(site: string | undefined, dataDir: string, env: CheckIo['env']): Promise<Source[]> {
  const prefix = env.ARCMON_TABLE_PREFIX ?? 'arcmon';
  if (env.ARCMON_STORAGE_CONNECTION_STRING || env.ARCMON_TABLE_ENDPOINT) {
    const store = env.ARCMON_STORAGE_CONNECTION_STRING
      ? createTableStore({ prefix, connectionString: env.ARCMON_STORAGE_CONNECTION_STRING })
      : createTableStore({
          prefix,
          tableEndpoint: env.ARCMON_TABLE_ENDPOINT,
          credential: credentialFor({ AZURE_CLIENT_ID: env.AZURE_CLIENT_ID, AZURE_TENANT_ID: env.AZURE_TENANT_ID }),
        });
    return [{ ...(site ? { site } : {}), store, close: () => Promise.resolve() }];
  }
  const sitesRoot = join(dataDir, 'sites');
  const names = site ? [site] : await readdir(sitesRoot).catch(() => [] as string[]);
  const sources: Source[] = [];
  for (const name of names) {
    const location = join(siteDir(dataDir, name), 'azurite');
    const copy = await mkdtemp(join(tmpdir(), 'arcmon-status-'));
    try {
      await cp(location, copy, { recursive: true });
    } catch {
      await rm(copy, { recursive: true, force: true });
      if (site) throw new UsageError(`no stored data for site ${site} under ${dataDir} (has arcmon run run there?)`);
      continue;
    }
    const azurite = await startAzurite({ port: 0, location: copy });
    sources.push({
      site: name,
      store: createTableStore({ prefix, connectionString: azurite.connectionString }),
      close: async () => {
        await azurite.stop();
        await rm(copy, { recursive: true, force: true });
      },
    });
  }
  if (sources.length === 0) throw new UsageError(`no stored data under ${dataDir} (has arcmon run run there?)`);
  return sources;
}

function parse(argv: string[], positionals: boolean) {
  try {
    return parseArgs({
      args: argv,
      strict: true,
      allowPositionals: positionals,
      options: {
        site: { type: 'string' },
        'data-dir': { type: 'string' },
        since: { type: 'string' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** `30m`, `24h`, `7d` as milliseconds (at most 31 days: history is kept for ARCMON_RETENTION_DAYS). */
export function parseSince(value: string): number {
  const m = /^(\d+)([mhd])$/.exec(value.trim());
  const ms = m ? Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'] : NaN;
  if (!m || ms <= 0 || ms > 31 * 86_400_000) {
    throw new UsageError(`--since must be a duration such as 30m, 24h or 7d (at most 31d), got "${value}"`);
  }
  return ms;
}

async function withSources<T>(
  argv: string[],
  io: CheckIo,
  positionals: boolean,
  body: (sources: Source[], v: ReturnType<typeof parse>) => Promise<T>,
): Promise<number> {
  let sources: Source[] = [];
  try {
    const parsed = parse(argv, positionals);
    if (parsed.values.help) {
      io.stdout(STATUS_USAGE + '\n');
      return EXIT.ok;
    }
    const output = parsed.values.output ?? 'table';
    if (output !== 'table' && output !== 'json') {
      throw new UsageError(`--output must be table or json, got "${output}"`);
    }
    const dataDir = resolve(parsed.values['data-dir'] ?? io.env.ARCMON_DATA_DIR ?? defaultDataDir(io.env));
    sources = await openSources(parsed.values.site ?? io.env.ARCMON_SITE, dataDir, io.env);
    await body(sources, parsed);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`arcmon: ${err.message}\n`);
    return EXIT.usage;
  } finally {
    await Promise.all(sources.map((s) => s.close()));
  }
}

/** `arcmon status`. */
export function runStatus(argv: string[], io: CheckIo): Promise<number> {
  return withSources(argv, io, false, async (sources, { values }) => {
    const states: EndpointState[] = [];
    const incidents: Incident[] = [];
    for (const s of sources) {
      const view = await s.store.latest(s.site);
      states.push(...view.states);
      incidents.push(...view.openIncidents);
    }
    if (values.output === 'json') {
      io.stdout(JSON.stringify({ schema: 'arcmon.status/v1', states, openIncidents: incidents }, null, 2) + '\n');
      return;
    }
    const width = io.columns ?? 80;
    // SITE, VERDICT, MS and SINCE take 12 + 9 + 6 + 16 columns; a longer endpoint goes on its own line, whole.
    const idWidth = Math.min(Math.max(8, ...states.map((s) => s.targetId.length)), Math.max(20, width - 47));
    const row = (site: string, id: string, verdict: string, ms: string, since: string) =>
      `${site.padEnd(12)} ${id.padEnd(idWidth)} ${verdict.padEnd(9)} ${ms.padEnd(6)} ${since}`;
    const lines = [row('SITE', 'ENDPOINT', 'VERDICT', 'MS', 'SINCE')];
    for (const s of states) {
      const long = s.targetId.length > idWidth;
      if (long) lines.push(elideMiddle(s.targetId, width));
      const since = s.since.slice(0, 16).replace('T', ' ');
      const ms = String(Math.round(s.lastLatencyMs ?? 0));
      lines.push(row(elideMiddle(s.site, 12), long ? '' : s.targetId, s.verdict.toUpperCase(), ms, since));
      if (s.failureCode) lines.push(...wrap(`${s.failureCode}: ${s.message ?? ''}`, width, '    '));
    }
    lines.push('', incidents.length === 0 ? 'No open incidents.' : `${incidents.length} open incident(s):`);
    for (const i of incidents) {
      lines.push(
        ...wrap(
          `[${i.severity}] ${i.kind} ${i.targetId} at ${i.site} since ${i.openedAt}: ${i.failureCode ?? ''} ${i.message}`,
          width,
          '  ',
        ),
      );
    }
    io.stdout(lines.join('\n') + '\n');
  });
}

/** `arcmon history ENDPOINT`. */
export function runHistory(argv: string[], io: CheckIo): Promise<number> {
  return withSources(argv, io, true, async (sources, { values, positionals }) => {
    const [endpoint, ...extra] = positionals;
    if (!endpoint || extra.length > 0)
      throw new UsageError('history takes one ENDPOINT, e.g. gbl.his.arc.azure.com:443');
    const targetId = /:\d+(\/udp)?$/.test(endpoint) ? endpoint : `${endpoint}:443`;
    const since = new Date(Date.now() - parseSince(values.since ?? '24h'));
    const rows: (HistoryPoint & { site: string })[] = [];
    for (const s of sources) {
      const sites = s.site ? [s.site] : [...new Set((await s.store.latest()).states.map((x) => x.site))];
      for (const site of sites) {
        for (const p of await s.store.history(site, targetId, since)) rows.push({ site, ...p });
      }
    }
    if (values.output === 'json') {
      io.stdout(
        JSON.stringify({ schema: 'arcmon.history/v1', targetId, since: since.toISOString(), points: rows }, null, 2) +
          '\n',
      );
      return;
    }
    const width = io.columns ?? 80;
    const lines = [`${targetId} since ${since.toISOString()}: ${rows.length} result(s)`];
    for (const r of rows) {
      const why = r.failureCode ? ` ${r.failureCode}: ${r.message ?? ''}` : '';
      lines.push(
        ...wrap(
          `${r.cycleStartedAt.slice(0, 19).replace('T', ' ')} ${r.site} ${r.verdict.toUpperCase()} ${Math.round(r.totalMs)} ms${why}`,
          width,
        ),
      );
    }
    const ok = rows.filter((r) => r.verdict === 'reachable' || r.verdict === 'degraded').length;
    if (rows.length > 0)
      lines.push(`availability ${((100 * ok) / rows.length).toFixed(1)}% over ${rows.length} cycle(s)`);
    io.stdout(lines.join('\n') + '\n');
  });
}
