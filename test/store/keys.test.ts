import { describe, expect, it } from 'vitest';
import { RestError } from '@azure/data-tables';
import {
  cycleInstant,
  decodeKeyPart,
  encodeKeyPart,
  fromInvertedTicks,
  historyPartitionKey,
  historyRowKey,
  hourBucket,
  invertedTicks,
} from '../../lib/store/keys';
import { boundJsonArray, boundText } from '../../lib/store/entities';
import { classifyStoreError } from '../../lib/store/tableStore';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('row keys', () => {
  it('inverts ticks so later cycles sort first, 19 digits wide', () => {
    const times = [
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T10:05:00.000Z',
      '2026-03-01T10:05:00.001Z',
      '2031-01-01T00:00:00Z',
    ];
    const keys = times.map((t) => invertedTicks(new Date(t)));
    expect(keys.every((k) => /^\d{19}$/.test(k))).toBe(true);
    expect([...keys].sort()).toEqual([...keys].reverse());
    expect(keys.map((k) => fromInvertedTicks(k).toISOString())).toEqual(times.map((t) => new Date(t).toISOString()));
  });

  it('uses .NET ticks: the Unix epoch is 621355968000000000 ticks', () => {
    expect(invertedTicks(new Date(0))).toBe((3155378975999999999n - 621355968000000000n).toString());
  });

  it('puts a site and hour in the history partition and newest-first ticks before the target', () => {
    const at = new Date('2026-03-01T09:59:59.999Z');
    expect(hourBucket(at)).toBe('2026030109');
    expect(historyPartitionKey('hub-weu', at)).toBe('hub-weu|2026030109');
    expect(historyRowKey(at, 'time.windows.com:123/udp', '2026-03-01T09:59:58.000Z-a1b2')).toBe(
      `${invertedTicks(at)}|a1b2|time.windows.com:123%2Fudp`,
    );
  });

  it.each([
    ['time.windows.com:123/udp', 'time.windows.com:123%2Fudp'],
    ['[::1]:443', '[::1]:443'],
    ['a\\b#c?d', 'a%5Cb%23c%3Fd'],
    ['100%|pipe', '100%25%7Cpipe'],
    ['tab\there\u0085', 'tab%09here%85'],
    ['gbl.his.arc.azure.com:443', 'gbl.his.arc.azure.com:443'],
  ])('encodes %j as %j and decodes it back', (raw, encoded) => {
    expect(encodeKeyPart(raw)).toBe(encoded);
    expect(decodeKeyPart(encoded)).toBe(raw);
  });

  it('shortens an overlong key part deterministically, keeping distinct values distinct', () => {
    const a = encodeKeyPart(`${'x'.repeat(2000)}a`);
    const b = encodeKeyPart(`${'x'.repeat(2000)}b`);
    expect(a.length).toBeLessThanOrEqual(400);
    expect(a).toBe(encodeKeyPart(`${'x'.repeat(2000)}a`));
    expect(a).not.toBe(b);
  });

  it.each([
    ['2026-03-01T10:05:00.000Z-ab12', '2026-03-01T10:05:03.000Z', '2026-03-01T10:05:00.000Z'],
    ['run-7', '2026-03-01T10:05:03.000Z', '2026-03-01T10:05:03.000Z'],
  ])('takes the cycle instant of %s from its id when it starts with one', (cycleId, startedAt, expected) => {
    expect(cycleInstant(cycleId, startedAt).toISOString()).toBe(expected);
  });
});

describe('bounded values', () => {
  it('cuts long text with an ellipsis and never splits a surrogate pair', () => {
    const text = `${'a'.repeat(8190)}😀😀tail`;
    const cut = boundText(text, 8192);
    expect(cut.length).toBeLessThanOrEqual(8192);
    expect(cut.endsWith('…')).toBe(true);
    expect(LONE_SURROGATE.test(cut)).toBe(false);
    expect(boundText('short', 8192)).toBe('short');
  });

  it('keeps a bounded JSON array valid JSON with the leading items', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ address: `10.0.${i}.1`, family: 4 }));
    const { json, kept } = boundJsonArray(items, 4096);
    expect(json.length).toBeLessThanOrEqual(4096);
    expect(JSON.parse(json)).toEqual(items.slice(0, kept));
    expect(kept).toBeGreaterThan(50);
  });
});

describe('store failures', () => {
  it.each([
    ['connection refused', new RestError('connect ECONNREFUSED', { code: 'ECONNREFUSED' }), 'transient'],
    ['reset', new RestError('socket hang up', { code: 'ECONNRESET' }), 'transient'],
    ['throttled', new RestError('busy', { statusCode: 429 }), 'transient'],
    ['server error', new RestError('oops', { statusCode: 503 }), 'transient'],
    ['timeout', Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }), 'transient'],
    ['no role', new RestError('AuthorizationPermissionMismatch', { statusCode: 403 }), 'unavailable'],
    ['token service down', Object.assign(new Error('IMDS 503'), { name: 'CredentialUnavailableError' }), 'transient'],
    ['token refused', Object.assign(new Error('AADSTS'), { name: 'AuthenticationError' }), 'transient'],
    ['bad request', new RestError('PropertyValueTooLarge', { statusCode: 400 }), 'rejected'],
    ['batch too large', new RestError('RequestBodyTooLarge', { statusCode: 413 }), 'rejected'],
    ['conflict', new RestError('UpdateConditionNotSatisfied', { statusCode: 412 }), 'unavailable'],
    ['a bug: data kept, not set aside', new TypeError('x is undefined'), 'unavailable'],
  ])('classifies %s', (_name, error, kind) => {
    expect(classifyStoreError(error)).toBe(kind);
  });
});
