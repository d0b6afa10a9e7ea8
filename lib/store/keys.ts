import { createHash } from 'node:crypto';

/** .NET ticks (100 ns) at 1970-01-01T00:00:00Z. */
const TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000n;
/** `DateTime.MaxValue.Ticks`: inverting against it keeps every value positive and 19 digits wide. */
const MAX_TICKS = 3_155_378_975_999_999_999n;

/**
 * Characters Table Storage forbids in PartitionKey/RowKey (`/ \ # ?`, C0 and C1 controls), plus `%` (our escape
 * character) and `|` (our separator between key parts), so an encoded value never contains a separator.
 */
// eslint-disable-next-line no-control-regex
const KEY_UNSAFE = /[%/\\#?|\u0000-\u001f\u007f-\u009f]/g;

/** Longest encoded key part kept verbatim; keys are limited to 1 KiB and a row key holds two parts. */
const MAX_KEY_PART = 400;

/**
 * Encodes a value for use in a PartitionKey or RowKey: the forbidden characters, `%` and `|` become `%XX`
 * (`time.windows.com:123/udp` → `time.windows.com:123%2Fudp`). Reversible with {@link decodeKeyPart} unless the
 * value is longer than 400 characters once encoded, in which case it is cut and suffixed with a SHA-256 digest
 * (still deterministic and unique; the original is kept in an entity property anyway).
 */
export function encodeKeyPart(value: string): string {
  const encoded = value.replace(KEY_UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (encoded.length <= MAX_KEY_PART) return encoded;
  const digest = createHash('sha256').update(value).digest('hex');
  return `${encoded.slice(0, MAX_KEY_PART - 66)}~${digest}`;
}

/** Reverses {@link encodeKeyPart} (for values that were not shortened). */
export function decodeKeyPart(encoded: string): string {
  return encoded.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Inverted .NET ticks of an instant, zero-padded to 19 digits: later instants give smaller strings, so rows
 * keyed by it sort newest first. BigInt arithmetic: ticks exceed Number's safe integer range.
 */
export function invertedTicks(at: Date): string {
  const ms = at.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invertedTicks: invalid date');
  const ticks = TICKS_AT_UNIX_EPOCH + BigInt(ms) * 10_000n;
  return (MAX_TICKS - ticks).toString().padStart(19, '0');
}

/** The instant an {@link invertedTicks} string stands for (millisecond precision). */
export function fromInvertedTicks(inverted: string): Date {
  const ticks = MAX_TICKS - BigInt(inverted);
  return new Date(Number((ticks - TICKS_AT_UNIX_EPOCH) / 10_000n));
}

/** `yyyyMMddHH` in UTC: the hour bucket of a history partition. */
export function hourBucket(at: Date): string {
  const iso = at.toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13);
}

/** History PartitionKey: one partition per site per UTC hour, `site|yyyyMMddHH`. */
export function historyPartitionKey(site: string, cycleStart: Date): string {
  return `${encodeKeyPart(site)}|${hourBucket(cycleStart)}`;
}

/**
 * History RowKey: newest cycle first, then the cycle's own tag, then target: `invertedTicks|cycleTag|targetId`. The
 * tag (the cycle id without its leading start time) keeps two runners that started in the same millisecond apart.
 */
export function historyRowKey(cycleStart: Date, targetId: string, cycleId: string): string {
  const tag = cycleId.replace(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z-?/, '');
  return `${invertedTicks(cycleStart)}|${encodeKeyPart(tag)}|${encodeKeyPart(targetId)}`;
}

/**
 * The instant a cycle's keys are derived from: the ISO time that starts the cycle id (`<ISO start>-<random>`),
 * so a retried invocation that reuses the id lands on the same keys; the report's `startedAt` otherwise.
 */
export function cycleInstant(cycleId: string, startedAt: string): Date {
  const fromId = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)/.exec(cycleId)?.[1];
  const candidate = new Date(fromId ?? startedAt);
  if (Number.isFinite(candidate.getTime())) return candidate;
  const fallback = new Date(startedAt);
  if (!Number.isFinite(fallback.getTime())) throw new RangeError(`cycle ${cycleId}: startedAt is not a date`);
  return fallback;
}
