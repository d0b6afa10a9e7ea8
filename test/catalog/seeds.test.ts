/**
 * The catalog against the seed documents themselves: every host of every table row is in the catalog for
 * its cloud, every seed-sourced entry is in a seed, and the fields the tables state (port, when required,
 * private-link column, direction) agree.
 */
import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../lib/catalog/entries';
import type { CatalogEntry, Cloud, Machine, PrivateLinkColumn, Requirement } from '../../lib/catalog/types';
import type { SeedRow } from './seedTables';
import { extractSeedFacts, readCommittedSeedFacts, seedFilesPresent, seedsLocation } from './seedTables';

/*
 * The seed files are read where they are given (ARCMON_SEEDS_DIR, else ../shared/seeds beside the repository,
 * which CI always has). A clone without them checks the catalog against the committed extraction; with them, the
 * extraction must equal what the files say today.
 */
const location = seedsLocation(process.env);
const present = seedFilesPresent(location.dir);
const committed = readCommittedSeedFacts();
const facts = present ? extractSeedFacts(location.dir) : committed;

const agentRows = facts.rows.filter((r) => r.document === 'seed:000');
const bridgeRows = facts.rows.filter((r) => r.document === 'seed:004');
const seedRows = facts.rows;

describe('seed facts travel with the project', () => {
  if (present) {
    it(`the committed extraction (test/catalog/seedFacts.json) is exactly what the seed files in ${location.dir} say`, () => {
      expect(committed).toEqual(facts);
    });
  } else if (location.required) {
    it(`the seed files are at ${location.dir} (ARCMON_SEEDS_DIR or CI requires them)`, () => {
      expect(present, `seed files missing in ${location.dir}`).toBe(true);
    });
  } else {
    it('without seed files, the committed extraction names both files by their SHA-256', () => {
      expect(committed.files.map((f) => f.name)).toEqual(['000_d9be44b331358687.txt', '004_6985f2e516c797df.txt']);
      expect(committed.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    });
  }
});

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

  it('marks every entry beyond the seeds as from a dated Microsoft page (repository, path, ms.date, commit)', () => {
    const extras = CATALOG.filter((e) => !e.source.document.startsWith('seed:'));
    expect(extras.length).toBeGreaterThan(0);
    const undated = extras.filter(
      (e) =>
        e.source.document !== 'page' ||
        e.source.page?.repo !== 'MicrosoftDocs/azure-management-docs' ||
        !/^articles\/azure-arc\/.+\.md$/.test(e.source.page.path) ||
        !/^\d{4}-\d{2}-\d{2}$/.test(e.source.page.msDate) ||
        !/^[0-9a-f]{40}$/.test(e.source.page.commit),
    );
    expect(undated.map((e) => e.id)).toEqual([]);
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
      CATALOG.filter((e) => e.agent === 'resource-bridge' && e.source.document === 'seed:004').map((e) => [
        e.hostPattern,
        e.requirement,
      ]),
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
