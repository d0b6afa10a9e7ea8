import { appendFile, lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StoredEntity, StoredValue } from './entities';

/** The three tables, in the order a cycle writes them. */
export const TABLE_ROLES = ['history', 'state', 'incidents'] as const;
export type TableRole = (typeof TABLE_ROLES)[number];

/** One transaction's worth of entities: one table, one partition, at most 100 entities. */
export interface PendingBatch {
  role: TableRole;
  partitionKey: string;
  entities: StoredEntity[];
}

const FORMAT = 'arcmon-spool/1';
/** Why each set-aside file was set aside. */
export const REJECTED_LOG = 'rejected.log';

interface SpoolFile extends PendingBatch {
  format: typeof FORMAT;
  cycleId: string;
  spooledAt: string;
}

/** A batch waiting on disk. */
export interface SpoolEntry {
  path: string;
  /** File name: `<cycle>.<role order>.<batch index>.json`, so names sort in write order. */
  name: string;
  role: TableRole;
}

/** A spool file that cannot be replayed. */
export class SpoolFileError extends Error {
  constructor(path: string, problem: string) {
    super(`spool file ${path}: ${problem}`);
    this.name = 'SpoolFileError';
  }
}

/** File-system-safe, deterministic name part. */
function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_');
}

function isStoredValue(v: unknown): v is StoredValue {
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return true;
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return o.type === 'Double' && typeof o.value === 'string';
}

function parseSpoolFile(path: string, text: string): SpoolFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SpoolFileError(path, 'not valid JSON');
  }
  const f = raw as Partial<SpoolFile> | null;
  if (f?.format !== FORMAT) throw new SpoolFileError(path, `unknown format (expected ${FORMAT})`);
  if (!TABLE_ROLES.includes(f.role as TableRole)) throw new SpoolFileError(path, 'unknown table role');
  if (typeof f.partitionKey !== 'string' || typeof f.cycleId !== 'string' || !Array.isArray(f.entities)) {
    throw new SpoolFileError(path, 'missing partitionKey, cycleId or entities');
  }
  for (const e of f.entities as unknown[]) {
    const entity = e as Record<string, unknown> | null;
    if (
      typeof entity !== 'object' ||
      entity === null ||
      entity.partitionKey !== f.partitionKey ||
      typeof entity.rowKey !== 'string' ||
      !Object.values(entity).every(isStoredValue)
    ) {
      throw new SpoolFileError(path, 'an entity is malformed');
    }
  }
  return f as SpoolFile;
}

/**
 * The default spool root: private to this user and to one table store (endpoint and prefix), under the OS temporary
 * directory, e.g. `/tmp/arcmon-spool-1000-3f2a9c1b7e40`. Each site has its own directory below it.
 */
export function defaultSpoolRoot(storeIdentity: string): string {
  const uid = process.getuid?.() ?? 'user';
  const digest = createHash('sha256').update(storeIdentity).digest('hex').slice(0, 12);
  return join(tmpdir(), `arcmon-spool-${uid}-${digest}`);
}

/**
 * Batches the store could not write, kept as JSON files under `<root>/<site>/` until a flush writes them.
 * Names are deterministic per cycle and batch, so spooling the same batch twice keeps one file.
 */
export class Spool {
  constructor(readonly root: string) {}

  private readonly checked = new Set<string>();

  /**
   * Creates `dir` (mode 0700) or checks that it is private: a directory of this user that no one else can read or
   * write. A spool holds what the monitor saw and is replayed as is, so a shared or predictable one is refused.
   */
  private async ensurePrivate(dir: string): Promise<void> {
    if (this.checked.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const info = await lstat(dir);
    const uid = process.getuid?.();
    if (!info.isDirectory()) throw new Error(`spool directory ${dir} is not a directory`);
    if (uid !== undefined && (info.uid !== uid || (info.mode & 0o077) !== 0)) {
      throw new Error(
        `spool directory ${dir} is not private (owner ${info.uid}, mode ${(info.mode & 0o777).toString(8)}): it must belong to this user (uid ${uid}) with mode 700; remove it or choose another directory`,
      );
    }
    this.checked.add(dir);
  }

  /** Saves a batch atomically (write to a temporary file, then rename). */
  async put(site: string, cycleId: string, index: number, batch: PendingBatch): Promise<SpoolEntry> {
    const dir = join(this.root, safeName(site));
    await this.ensurePrivate(this.root);
    await this.ensurePrivate(dir);
    const order = TABLE_ROLES.indexOf(batch.role);
    const name = `${safeName(cycleId)}.${order}.${String(index).padStart(5, '0')}.json`;
    const path = join(dir, name);
    const file: SpoolFile = { format: FORMAT, cycleId, spooledAt: new Date().toISOString(), ...batch };
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(file), { mode: 0o600 });
    await rename(tmp, path);
    return { path, name, role: batch.role };
  }

  /** Every waiting batch, per site in write order; `site` limits the listing to one site. */
  async list(site?: string): Promise<SpoolEntry[]> {
    const siteDirs = site === undefined ? await this.siteDirs() : [safeName(site)];
    const entries: SpoolEntry[] = [];
    for (const dir of siteDirs) {
      let names: string[];
      try {
        names = await readdir(join(this.root, dir));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
        const order = Number(/\.(\d)\.\d{5}\.json$/.exec(name)?.[1]);
        const role = TABLE_ROLES[order];
        if (role) entries.push({ path: join(this.root, dir, name), name, role });
      }
    }
    return entries;
  }

  /** Reads a waiting batch. Throws {@link SpoolFileError} when the file cannot be replayed. */
  async read(entry: SpoolEntry): Promise<PendingBatch & { cycleId: string }> {
    const file = parseSpoolFile(entry.path, await readFile(entry.path, 'utf8'));
    return { role: file.role, partitionKey: file.partitionKey, entities: file.entities, cycleId: file.cycleId };
  }

  async remove(entry: SpoolEntry): Promise<void> {
    await rm(entry.path, { force: true });
  }

  /**
   * Sets a file aside (`.rejected`) so it no longer blocks the spool, keeps it for inspection, and records why in
   * `rejected.log` beside it (one JSON line per file: file, reason, time).
   */
  async reject(entry: SpoolEntry, reason: string): Promise<void> {
    await rename(entry.path, `${entry.path}.rejected`);
    const line = JSON.stringify({ file: `${entry.name}.rejected`, reason, at: new Date().toISOString() });
    await appendFile(join(dirname(entry.path), REJECTED_LOG), `${line}\n`, { mode: 0o600 });
  }

  /**
   * Keeps the spool under `limitBytes` by deleting the oldest history batches (state and incident batches are
   * small and needed for correctness). Returns the number of history entities dropped.
   */
  async enforceLimit(limitBytes: number): Promise<number> {
    const entries = await this.list();
    const sizes = await Promise.all(entries.map(async (e) => (await stat(e.path)).size));
    let total = sizes.reduce((a, b) => a + b, 0);
    let dropped = 0;
    const oldestHistoryFirst = entries
      .map((e, i) => ({ e, size: sizes[i] ?? 0 }))
      .filter((x) => x.e.role === 'history')
      .sort((a, b) => (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0));
    for (const { e, size } of oldestHistoryFirst) {
      if (total <= limitBytes) break;
      try {
        dropped += (await this.read(e)).entities.length;
      } catch {
        // Unreadable: drop it all the same, it is the oldest.
      }
      await this.remove(e);
      total -= size;
    }
    return dropped;
  }

  private async siteDirs(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }
}
