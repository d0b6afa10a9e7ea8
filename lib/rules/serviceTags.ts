/**
 * Service tags per address: which of Microsoft's published address ranges (the weekly ServiceTags_Public_*.json,
 * or the same document from ARM's `Microsoft.Network/locations/{location}/serviceTags`) cover a resolved address.
 * The index keeps one hash map per prefix length and family, so a lookup is at most one map probe per length that
 * occurs in the file (33 for IPv4, 129 for IPv6), however many prefixes there are; the most specific match comes
 * first.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { finding, settle } from '../probes/result';
import type { ProbeResult } from '../probes/types';

const tagValue = z.object({
  name: z.string().min(1),
  id: z.string().min(1),
  properties: z.object({
    changeNumber: z.number().int().optional(),
    region: z.string().default(''),
    systemService: z.string().default(''),
    addressPrefixes: z.array(z.string()),
  }),
});

const tagDocument = z.object({
  changeNumber: z.number().int(),
  cloud: z.string().min(1),
  values: z.array(tagValue),
});

/** A service tag that covers an address. */
export interface TagMatch {
  /** The tag's name, e.g. `AzureArcInfrastructure` or its regional slice `AzureArcInfrastructure.EastUS`. */
  tag: string;
  /** The slice's region, empty for the global tag. */
  region: string;
  systemService: string;
  /** The published prefix that matched. */
  prefix: string;
}

export class ServiceTagsError extends Error {
  override name = 'ServiceTagsError';
}

interface TagRef {
  tag: string;
  region: string;
  systemService: string;
}

interface Family<K> {
  /** Prefix length → network (address masked to that length) → tags. */
  byLength: Map<number, Map<K, { prefix: string; refs: TagRef[] }>>;
  /** Lengths present, longest first. */
  lengths: number[];
  /** The maps of `lengths`, in that order. */
  levels: Map<K, { prefix: string; refs: TagRef[] }>[];
}

/** The index of one service tags document. */
export interface ServiceTagIndex {
  changeNumber: number;
  cloud: string;
  /** Prefixes indexed (IPv4 + IPv6). */
  prefixCount: number;
  tagCount: number;
  /** Every tag covering `address`, most specific prefix first; empty when none or not an IP address. */
  lookup(address: string): TagMatch[];
}

function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** The 32 hex digits of an IPv6 address (IPv4-mapped tails included). */
function v6Hex(address: string): string {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = v4ToNumber(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** The network of `hex` at prefix length `len`, as a key: whole nibbles, then the masked last one. */
function v6Key(hex: string, len: number): string {
  const whole = len >> 2;
  const rest = len & 3;
  if (rest === 0) return hex.slice(0, whole);
  const nibble = parseInt(hex[whole] ?? '0', 16) & ((0xf << (4 - rest)) & 0xf);
  return hex.slice(0, whole) + nibble.toString(16);
}

const MASK32 = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function insert<K>(family: Family<K>, len: number, key: K, prefix: string, ref: TagRef): void {
  let level = family.byLength.get(len);
  if (!level) {
    level = new Map();
    family.byLength.set(len, level);
  }
  const slot = level.get(key);
  if (slot) slot.refs.push(ref);
  else level.set(key, { prefix, refs: [ref] });
}

/**
 * Parses a service tags document (the published file, or ARM's answer) and indexes it. Throws ServiceTagsError
 * naming `source`, the JSON path and the fix when the document is not of that shape or a prefix is malformed.
 */
export function indexServiceTags(text: string, source: string): ServiceTagIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ServiceTagsError(
      `${source}: not JSON (${err instanceof Error ? err.message : String(err)}); give the ServiceTags_*.json file Microsoft publishes`,
    );
  }
  const parsed = tagDocument.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') ?? '';
    throw new ServiceTagsError(
      `${source}: ${path.replace(/^\./, '') || 'document'}: ${issue?.message ?? 'invalid'}; expected the ServiceTags_*.json shape (changeNumber, cloud, values[].properties.addressPrefixes)`,
    );
  }
  const v4: Family<number> = { byLength: new Map(), lengths: [], levels: [] };
  const v6: Family<string> = { byLength: new Map(), lengths: [], levels: [] };
  let prefixCount = 0;
  parsed.data.values.forEach((value, i) => {
    const ref: TagRef = {
      tag: value.name,
      region: value.properties.region,
      systemService: value.properties.systemService,
    };
    value.properties.addressPrefixes.forEach((prefix, j) => {
      const [address = '', lenText] = prefix.split('/');
      const family = isIP(address);
      const len = lenText === undefined ? (family === 6 ? 128 : 32) : Number(lenText);
      const bad = () =>
        new ServiceTagsError(
          `${source}: values[${i}].properties.addressPrefixes[${j}]: "${prefix}" is not an address prefix; the file is damaged, download it again`,
        );
      if (family === 0 || !Number.isInteger(len) || len < 0 || len > (family === 4 ? 32 : 128)) throw bad();
      prefixCount++;
      if (family === 4) insert(v4, len, (v4ToNumber(address) & MASK32(len)) >>> 0, prefix, ref);
      else insert(v6, len, v6Key(v6Hex(address), len), prefix, ref);
    });
  });
  v4.lengths = [...v4.byLength.keys()].sort((a, b) => b - a);
  v6.lengths = [...v6.byLength.keys()].sort((a, b) => b - a);
  v6.levels = v6.lengths.map((len) => v6.byLength.get(len) ?? new Map<string, { prefix: string; refs: TagRef[] }>());

  const collect = (slot: { prefix: string; refs: TagRef[] } | undefined, out: TagMatch[]) => {
    if (slot) for (const r of slot.refs) out.push({ ...r, prefix: slot.prefix });
  };
  return {
    changeNumber: parsed.data.changeNumber,
    cloud: parsed.data.cloud,
    prefixCount,
    tagCount: parsed.data.values.length,
    lookup(address: string): TagMatch[] {
      const out: TagMatch[] = [];
      const family = isIP(address);
      if (family === 4) {
        const n = v4ToNumber(address);
        for (const len of v4.lengths) collect(v4.byLength.get(len)?.get((n & MASK32(len)) >>> 0), out);
      } else if (family === 6) {
        const hex = v6Hex(address);
        for (let i = 0; i < v6.lengths.length; i++) collect(v6.levels[i]?.get(v6Key(hex, v6.lengths[i] ?? 0)), out);
      }
      return out;
    },
  };
}

/**
 * An Azure-operated name (one the catalog gives service tags) that resolved to a public address none of the
 * document's ranges covers gets an ADDRESS_OUTSIDE_AZURE finding: a DNS server, filter or hosts entry answers for
 * it. Private, loopback, CGNAT and unspecified addresses are judged elsewhere (private link, DNS filtering).
 * Returns the result unchanged when nothing is outside.
 */
export function withAzureAddressCheck(
  target: { serviceTags?: readonly string[] | undefined },
  result: ProbeResult,
  index: ServiceTagIndex,
): ProbeResult {
  if (!target.serviceTags?.length || !result.dns || result.dns.informational) return result;
  const outside = result.dns.addresses.filter((a) => a.scope === 'public' && index.lookup(a.address).length === 0);
  if (outside.length === 0) return result;
  const { verdict: _verdict, failure: _failure, ...rest } = result;
  return settle({
    ...rest,
    findings: [
      ...result.findings,
      finding(
        'ADDRESS_OUTSIDE_AZURE',
        `${result.host} resolved to ${outside.map((a) => a.address).join(', ')} via ${result.dns.server}, which no service tag of ${index.cloud} change ${index.changeNumber} covers`,
      ),
    ],
  });
}
