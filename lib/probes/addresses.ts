import { isIPv4, isIPv6 } from 'node:net';
import type { AddressScope } from './types';

/**
 * Address arithmetic the probes need: what kind of address DNS returned (private endpoint or public service)
 * and whether it falls in a CIDR range. Pure functions over the textual forms Node and c-ares produce.
 */

/** The address as bytes: 4 for IPv4, 16 for IPv6 (zone index ignored). Throws on text that is not an IP. */
export function addressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  const bare = ip.replace(/%.*$/, '');
  if (!isIPv6(bare)) throw new TypeError(`not an IP address: "${ip}"`);
  let text = bare.toLowerCase();
  const bytes = new Uint8Array(16);
  // A dotted IPv4 tail (::ffff:10.0.0.1) fills the last 32 bits; rewrite it as two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

/** A parsed CIDR range. */
export interface Cidr {
  /** Network bytes (4 or 16). */
  network: Uint8Array;
  prefix: number;
  /** The range as written. */
  text: string;
}

/**
 * Parses `a.b.c.d/n` or `v6::/n`. Throws an Error naming the text when it is not a CIDR: ranges come from
 * configuration, so this runs once at the edge.
 */
export function parseCidr(text: string): Cidr {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const ip = match?.[1];
  const prefix = Number(match?.[2]);
  const max = ip && isIPv4(ip) ? 32 : ip && isIPv6(ip) ? 128 : undefined;
  if (!ip || max === undefined || prefix > max) {
    throw new Error(`Invalid address range "${text}": expected a CIDR such as 10.0.0.0/8 or fd00::/8`);
  }
  return { network: addressBytes(ip), prefix, text: text.trim() };
}

/** True when `ip` lies in `range`. IPv4-mapped IPv6 addresses match IPv4 ranges. */
export function inCidr(ip: string, range: Cidr): boolean {
  let bytes = addressBytes(ip);
  if (bytes.length === 16 && range.network.length === 4) {
    const mapped = ipv4Mapped(bytes);
    if (!mapped) return false;
    bytes = mapped;
  }
  if (bytes.length !== range.network.length) return false;
  for (let bit = 0; bit < range.prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if (((bytes[bit >> 3] ?? 0) & mask) !== ((range.network[bit >> 3] ?? 0) & mask)) return false;
  }
  return true;
}

/** The IPv4 address inside `::ffff:a.b.c.d`, or undefined. */
function ipv4Mapped(bytes: Uint8Array): Uint8Array | undefined {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return undefined;
  return bytes.slice(12);
}

function classifyV4([a = 0, b = 0, c = 0, d = 0]: Uint8Array): AddressScope {
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 0 && b === 0 && c === 0 && d === 0) return 'unspecified';
  return 'public';
}

/**
 * What kind of address this is.
 * IPv4: 10/8, 172.16/12, 192.168/16 private; 100.64/10 cgnat; 127/8 loopback; 169.254/16 link-local;
 * 0.0.0.0 unspecified; anything else public. IPv6: fc00::/7 private (unique local); fe80::/10 link-local;
 * ::1 loopback; :: unspecified; ::ffff:a.b.c.d as its IPv4 address; anything else public.
 * Throws a TypeError for text that is not an IP address (a bug in the caller: DNS returns addresses).
 */
export function classifyAddress(ip: string): AddressScope {
  const bytes = addressBytes(ip);
  if (bytes.length === 4) return classifyV4(bytes);
  const mapped = ipv4Mapped(bytes);
  if (mapped) return classifyV4(mapped);
  const first = bytes[0] ?? 0;
  if ((first & 0xfe) === 0xfc) return 'private';
  if (first === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  const zeroUpTo15 = bytes.subarray(0, 15).every((b) => b === 0);
  if (zeroUpTo15 && bytes[15] === 1) return 'loopback';
  if (zeroUpTo15 && bytes[15] === 0) return 'unspecified';
  return 'public';
}
