/**
 * The catalog against the seed documents themselves: every host of every table row is in the catalog for
 * its cloud, every seed-sourced entry is in a seed, and the fields the tables state (port, when required,
 * private-link column, direction) agree.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../lib/catalog/entries';
import type { CatalogEntry, Cloud, Machine, PrivateLinkColumn, Requirement } from '../../lib/catalog/types';

const SEEDS = path.resolve(__dirname, '../../../shared/seeds');
const AGENT_SEED = path.join(SEEDS, '000_d9be44b331358687.txt');
const BRIDGE_SEED = path.join(SEEDS, '004_6985f2e516c797df.txt');

interface SeedRow {
  document: 'seed:000' | 'seed:004';
  cloud: Cloud;
  host: string;
  /** Header name → cell text (cleaned). */
  cells: Record<string, string>;
}

/** Drops mis-decoded bytes (e.g. a narrow no-break space read as Latin-1) and collapses whitespace. */
function clean(cell: string): string {
  return cell
    .replace(/[^\x20-\x7E]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function splitRow(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map(clean);
}

/** Hosts of a URL / agent-resource cell: every backticked part, split at commas, without scheme. */
function hostsOf(cell: string): string[] {
  const parts = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');
  return parts
    .flatMap((p) => p.split(','))
    .map((h) =>
      h
        .trim()
        .replace(/^https?:\/\//, '')
        .replace(/\/$/, ''),
    )
    .filter(Boolean);
}

/** Every markdown table in `text`: header names and data rows. */
function tables(text: string): { headers: string[]; rows: string[][] }[] {
  const out: { headers: string[]; rows: string[][] }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const header = lines[i] ?? '';
    const separator = lines[i + 1] ?? '';
    if (!header.trim().startsWith('|') || !/^\s*\|[\s|:-]+\|?\s*$/.test(separator)) continue;
    const table = { headers: splitRow(header).map((h) => h.replace(/\*/g, '')), rows: [] as string[][] };
    let j = i + 2;
    while ((lines[j] ?? '').trim().startsWith('|')) table.rows.push(splitRow(lines[j++] ?? ''));
    out.push(table);
    i = j - 1;
  }
  return out;
}

function agentSeedRows(): SeedRow[] {
  const text = readFileSync(AGENT_SEED, 'utf8');
  const tabs: [string, Cloud][] = [
    ['### [Azure Cloud]', 'AzureCloud'],
    ['### [Azure Government]', 'AzureUSGovernment'],
    ['### [Azure China]', 'AzureChinaCloud'],
  ];
  const rows: SeedRow[] = [];
  tabs.forEach(([heading, cloud], k) => {
    const start = text.indexOf(heading);
    const next = tabs[k + 1];
    const end = next ? text.indexOf(next[0]) : text.indexOf('\n---', start);
    expect(start, `tab ${heading} in seed 000`).toBeGreaterThan(-1);
    const [table, ...more] = tables(text.slice(start, end));
    expect(table, `one URL table under ${heading}`).toBeDefined();
    expect(more).toEqual([]);
    for (const raw of table?.rows ?? []) {
      const cells = Object.fromEntries((table?.headers ?? []).map((h, c) => [h, raw[c] ?? '']));
      for (const host of hostsOf(raw[0] ?? '')) rows.push({ document: 'seed:000', cloud, host, cells });
    }
  });
  return rows;
}

function bridgeSeedRows(): SeedRow[] {
  const [table, ...more] = tables(readFileSync(BRIDGE_SEED, 'utf8'));
  expect(more).toEqual([]);
  const rows: SeedRow[] = [];
  for (const raw of table?.rows ?? []) {
    const cells = Object.fromEntries((table?.headers ?? []).map((h, c) => [h, raw[c] ?? '']));
    for (const host of hostsOf(cells.URL ?? '')) rows.push({ document: 'seed:004', cloud: 'AzureCloud', host, cells });
  }
  return rows;
}

const agentRows = agentSeedRows();
const bridgeRows = bridgeSeedRows();
const seedRows = [...agentRows, ...bridgeRows];

const key = (x: { document: string; cloud: Cloud; host: string }) => `${x.document} ${x.cloud} ${x.host}`;
const entryKey = (e: CatalogEntry) => key({ document: e.source.document, cloud: e.cloud, host: e.hostPattern });

function entriesFor(row: SeedRow): CatalogEntry[] {
  return CATALOG.filter((e) => entryKey(e) === key(row));
}

/** The seed's wording → the normalised requirement (restated here, independently of entries.ts). */
const WHEN_REQUIRED: Record<string, Requirement> = {
  'At installation time, only': 'installation',
  Always: 'always',
  'When connecting or disconnecting a server, only': 'connect-disconnect',
  'If using SSH or Windows Admin Center from Azure': 'ssh-admin-center',
  'Always, except when using private endpoints': 'always-unless-private-endpoints',
  Optional: 'optional',
};

function privateLinkOf(cell: string | undefined): PrivateLinkColumn {
  if (cell === undefined) return 'not-applicable';
  if (cell === 'Public') return 'public';
  if (cell === 'Private') return 'private';
  if (cell.startsWith('Public, unless a [resource management private link]')) return 'public-unless-arm-private-link';
  if (cell === 'Not used when private link is configured') return 'not-used';
  throw new Error(`unmapped private-link cell: ${cell}`);
}

function machinesOf(direction: string): Machine[] {
  const m: Machine[] = [];
  if (/management machine/i.test(direction)) m.push('management-machine');
  if (/appliance vm/i.test(direction)) m.push('appliance-vm');
  return m;
}

describe('seed documents', () => {
  it('were found and parsed (every tab, every row)', () => {
    const perCloud = (cloud: Cloud) =>
      new Set(agentRows.filter((r) => r.cloud === cloud).map((r) => r.cells['Agent resource'])).size;
    // Rows per tab as the seed lists them (a two-host row counts once).
    expect([perCloud('AzureCloud'), perCloud('AzureUSGovernment'), perCloud('AzureChinaCloud')]).toEqual([14, 10, 14]);
    expect(new Set(bridgeRows.map((r) => r.cells.URL)).size).toBe(18);
    expect(seedRows.every((r) => /^[a-z0-9*.-]+$/.test(r.host))).toBe(true);
  });
});

describe('catalog covers the seeds', () => {
  it('has an entry for every host of every seed row, for its cloud', () => {
    const missing = seedRows.filter((r) => entriesFor(r).length === 0).map(key);
    expect(missing, 'seed hosts missing from CATALOG').toEqual([]);
  });

  it('has no seed-sourced entry that the seeds do not list', () => {
    const listed = new Set(seedRows.map(key));
    const invented = CATALOG.filter((e) => e.source.document.startsWith('seed:') && !listed.has(entryKey(e))).map(
      (e) => `${e.id} (${entryKey(e)})`,
    );
    expect(invented, 'catalog entries attributed to a seed that does not list them').toEqual([]);
  });

  it('has exactly one entry per seed row and host', () => {
    const fromSeeds = seedRows.map(key).sort();
    const fromCatalog = CATALOG.filter((e) => e.source.document.startsWith('seed:'))
      .map(entryKey)
      .sort();
    expect(fromCatalog).toEqual(fromSeeds);
  });

  it('marks every entry beyond the seeds as extra or user, with a note for extras', () => {
    const extras = CATALOG.filter((e) => !e.source.document.startsWith('seed:'));
    expect(extras.filter((e) => e.source.document !== 'extra' || !e.source.note).map((e) => e.id)).toEqual([]);
  });
});

describe('per-row fields agree with the agent tables (seed 000)', () => {
  it.each(agentRows.map((r) => [`${r.cloud} ${r.host}`, r] as const))('%s', (_name, row) => {
    const [entry, ...more] = entriesFor(row);
    expect(more).toEqual([]);
    const when = row.cells['When required'] ?? '';
    expect(WHEN_REQUIRED[when], `mapping for "${when}"`).toBeDefined();
    expect(entry).toMatchObject({
      agent: 'connected-machine',
      port: 443,
      transport: 'tcp',
      protocol: 'https',
      purpose: row.cells.Description,
      requirement: WHEN_REQUIRED[when],
      requirementText: when,
      privateLink: privateLinkOf(row.cells['Endpoint used with private link']),
      machines: ['server'],
      inspection: 'tolerated',
    });
  });
});

describe('per-row fields agree with the resource bridge table (seed 004)', () => {
  it.each(bridgeRows.map((r) => [r.host, r] as const))('%s', (_name, row) => {
    const [entry, ...more] = entriesFor(row);
    expect(more).toEqual([]);
    const direction = row.cells.Direction ?? '';
    const udp = /\bUDP\b/.test(direction);
    expect(entry).toMatchObject({
      agent: 'resource-bridge',
      port: Number(row.cells.Port),
      transport: udp ? 'udp' : 'tcp',
      protocol: udp ? 'ntp' : 'https',
      purpose: `${row.cells.Service}: ${row.cells.Notes}`,
      requirementText: direction,
      privateLink: 'not-applicable',
      machines: machinesOf(direction),
      scenarios: ['resource-bridge'],
      inspection: 'not-tolerated',
    });
  });

  it('normalises the requirement: NTP conditional, management-machine Python rows installation, others always', () => {
    const byHost = Object.fromEntries(
      CATALOG.filter((e) => e.agent === 'resource-bridge').map((e) => [e.hostPattern, e.requirement]),
    );
    const expected = Object.fromEntries(
      bridgeRows.map((r) => {
        const direction = r.cells.Direction ?? '';
        const req: Requirement = /Hyper-V/.test(direction)
          ? 'conditional'
          : machinesOf(direction).join() === 'management-machine'
            ? 'installation'
            : 'always';
        return [r.host, req];
      }),
    );
    expect(byHost).toEqual(expected);
  });
});
