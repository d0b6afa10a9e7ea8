/**
 * Reads the two seed documents and extracts, per host of every table row, the facts the catalog is checked
 * against. The extraction is committed as `seedFacts.json` so a clone without the seed files still checks the
 * catalog; when the files are present the tests compare both (see seeds.test.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Cloud } from '../../lib/catalog/types';

export const AGENT_SEED_FILE = '000_d9be44b331358687.txt';
export const BRIDGE_SEED_FILE = '004_6985f2e516c797df.txt';
export const SEED_FACTS_FILE = path.join(__dirname, 'seedFacts.json');

export interface SeedRow {
  document: 'seed:000' | 'seed:004';
  cloud: Cloud;
  host: string;
  /** Header name → cell text (cleaned), the seed's own words. */
  cells: Record<string, string>;
}

export interface SeedFacts {
  /** Each seed file and the SHA-256 of its bytes, so a stale extraction is caught when the files are present. */
  files: { name: string; sha256: string }[];
  rows: SeedRow[];
}

/**
 * Where the seed files are: ARCMON_SEEDS_DIR, else `../shared/seeds` beside the repository root. `required` is
 * true when the caller said where (ARCMON_SEEDS_DIR) or runs in CI (which always has the seeds beside it).
 */
export function seedsLocation(env: Record<string, string | undefined>): { dir: string; required: boolean } {
  const given = env.ARCMON_SEEDS_DIR?.trim();
  const dir = given ? path.resolve(given) : path.resolve(__dirname, '../../../shared/seeds');
  return { dir, required: Boolean(given) || env.CI === 'true' };
}

export function seedFilesPresent(dir: string): boolean {
  return existsSync(path.join(dir, AGENT_SEED_FILE)) && existsSync(path.join(dir, BRIDGE_SEED_FILE));
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

function onlyTable(text: string, where: string) {
  const found = tables(text);
  if (found.length !== 1 || !found[0]) throw new Error(`expected one URL table ${where}, found ${found.length}`);
  return found[0];
}

function agentRows(text: string): SeedRow[] {
  const tabs: [string, Cloud][] = [
    ['### [Azure Cloud]', 'AzureCloud'],
    ['### [Azure Government]', 'AzureUSGovernment'],
    ['### [Azure China]', 'AzureChinaCloud'],
  ];
  const rows: SeedRow[] = [];
  tabs.forEach(([heading, cloud], k) => {
    const start = text.indexOf(heading);
    if (start < 0) throw new Error(`tab ${heading} not found in seed 000`);
    const next = tabs[k + 1];
    const end = next ? text.indexOf(next[0]) : text.indexOf('\n---', start);
    const table = onlyTable(text.slice(start, end), `under ${heading}`);
    for (const raw of table.rows) {
      const cells = Object.fromEntries(table.headers.map((h, c) => [h, raw[c] ?? '']));
      for (const host of hostsOf(raw[0] ?? '')) rows.push({ document: 'seed:000', cloud, host, cells });
    }
  });
  return rows;
}

function bridgeRows(text: string): SeedRow[] {
  const table = onlyTable(text, 'in seed 004');
  const rows: SeedRow[] = [];
  for (const raw of table.rows) {
    const cells = Object.fromEntries(table.headers.map((h, c) => [h, raw[c] ?? '']));
    for (const host of hostsOf(cells.URL ?? '')) rows.push({ document: 'seed:004', cloud: 'AzureCloud', host, cells });
  }
  return rows;
}

/** Parses the seed files in `dir`. Throws when a file or a table is missing. */
export function extractSeedFacts(dir: string): SeedFacts {
  const read = (name: string) => readFileSync(path.join(dir, name));
  const agent = read(AGENT_SEED_FILE);
  const bridge = read(BRIDGE_SEED_FILE);
  const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  return {
    files: [
      { name: AGENT_SEED_FILE, sha256: sha256(agent) },
      { name: BRIDGE_SEED_FILE, sha256: sha256(bridge) },
    ],
    rows: [...agentRows(agent.toString('utf8')), ...bridgeRows(bridge.toString('utf8'))],
  };
}

export function readCommittedSeedFacts(): SeedFacts {
  return JSON.parse(readFileSync(SEED_FACTS_FILE, 'utf8')) as SeedFacts;
}

/** `npx tsx test/catalog/seedTables.ts` rewrites seedFacts.json from the seed files (ARCMON_SEEDS_DIR or ../shared). */
if (require.main === module) {
  const { dir } = seedsLocation(process.env);
  writeFileSync(SEED_FACTS_FILE, JSON.stringify(extractSeedFacts(dir), null, 2) + '\n');
  console.log(`wrote ${SEED_FACTS_FILE} from ${dir}`);
}
