import { RestError } from '@azure/data-tables';
import type { TableClient } from '@azure/data-tables';
import { encodeKeyPart } from './keys';

/** Row key of a site's lease row in the state table; `~` sorts after every encoded target id. */
export const LEASE_ROW_KEY = '~lease';

/** What {@link acquireSiteLease} got. */
export type SiteLease =
  | { status: 'acquired'; release(): Promise<void> }
  | { status: 'held'; holder: string; until: string }
  | { status: 'unreachable'; error: unknown };

export interface LeaseOptions {
  /** Who asks (shown to the others while held). */
  holder: string;
  /** How long the lease lasts unless released; a holder killed mid-cycle frees the site after it. Default 60 s. */
  durationMs?: number;
  /** How long to wait for a lease someone else holds. Default 30 s. */
  waitMs?: number;
  /** Called per request attempt; throws on a transient failure after its own retries. */
  call: <T>(op: (abortSignal: AbortSignal) => Promise<T>) => Promise<T>;
}

const status = (e: unknown) => (e instanceof RestError ? e.statusCode : undefined);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One evaluator per site at a time: a row in the state table taken with optimistic concurrency. Created when
 * missing (a second creator gets 409), taken over only when expired and only with the ETag that was read (a second
 * taker gets 412), released by deleting it with the ETag that was written. Anyone who loses a race reads again.
 */
export async function acquireSiteLease(client: TableClient, site: string, opts: LeaseOptions): Promise<SiteLease> {
  const partitionKey = encodeKeyPart(site);
  const durationMs = opts.durationMs ?? 60_000;
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  let last: { holder: string; until: string } = { holder: 'unknown', until: '' };
  for (let round = 0; ; round++) {
    const entity = {
      partitionKey,
      rowKey: LEASE_ROW_KEY,
      holder: opts.holder,
      expiresAt: new Date(Date.now() + durationMs).toISOString(),
    };
    try {
      let etag: string | undefined;
      try {
        etag = (await opts.call((abortSignal) => client.createEntity(entity, { abortSignal }))).etag;
      } catch (e) {
        if (status(e) !== 409) throw e;
        let current;
        try {
          current = await opts.call((abortSignal) =>
            client.getEntity<{ holder?: string; expiresAt?: string }>(partitionKey, LEASE_ROW_KEY, { abortSignal }),
          );
        } catch (gone) {
          // Released between our create and our read: try again at once.
          if (status(gone) === 404) continue;
          throw gone;
        }
        last = { holder: String(current.holder), until: String(current.expiresAt) };
        const expires = Date.parse(String(current.expiresAt));
        if (!(expires < Date.now())) {
          if (Date.now() >= deadline) return { status: 'held', ...last };
          await sleep(Math.min(1000, 100 * 2 ** Math.min(round, 4)) * (0.5 + Math.random() / 2));
          continue;
        }
        etag = (
          await opts.call((abortSignal) => client.updateEntity(entity, 'Replace', { etag: current.etag, abortSignal }))
        ).etag;
      }
      const held = etag;
      return {
        status: 'acquired',
        release: async () => {
          try {
            await opts.call((abortSignal) =>
              client.deleteEntity(partitionKey, LEASE_ROW_KEY, { etag: held, abortSignal }),
            );
          } catch (e) {
            // Gone (404) or taken over after it expired (412): it is not ours any more either way.
            if (status(e) !== 404 && status(e) !== 412) throw e;
          }
        },
      };
    } catch (e) {
      // Lost a race (someone took it over between our read and our write): look again.
      if (status(e) === 412) {
        if (Date.now() >= deadline) return { status: 'held', ...last };
        continue;
      }
      return { status: 'unreachable', error: e };
    }
  }
}
