/**
 * The guest notification service's allowlist: the current relay hosts behind `azgn*.servicebus.*`,
 * published per region as a JSON array of host names. The monitor fetches it to make that wildcard concrete.
 */
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import { isDnsName, matchesHostPattern } from './expand';
import type { Cloud } from './types';

const NOTIFICATION_SERVICE_HOST: Record<Cloud, string> = {
  AzureCloud: 'guestnotificationservice.azure.com',
  AzureUSGovernment: 'guestnotificationservice.azure.us',
  AzureChinaCloud: 'guestnotificationservice.azure.cn',
};

/** The allowlist URL for a cloud and region (the region as given, e.g. `eastus`). */
export function notificationAllowlistUrl(cloud: Cloud, region: string): string {
  const host = NOTIFICATION_SERVICE_HOST[cloud];
  return `https://${host}/urls/allowlist?api-version=2020-01-01&location=${encodeURIComponent(region)}`;
}

export interface AllowlistFetchOptions {
  /** Carries proxy and trust settings. Default: undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Ends the fetch (the cycle's deadline). */
  signal: AbortSignal;
  /** Largest body accepted, in bytes. Default: 65536 (the real list is a few hundred bytes). */
  maxBytes?: number;
  /**
   * The host patterns the seed allows the list to fill (`azgn*.servicebus.windows.net` in the public cloud). Every
   * other name is left out and reported: the answer travels through proxies and is never trusted blindly.
   */
  patterns: readonly string[];
  /** Most hosts taken from one answer; the rest are reported. Default 64 (the real list has a handful). */
  maxHosts?: number;
}

export type AllowlistResult =
  | {
      ok: true;
      hosts: string[];
      /** Entries left out: not a host name, not matching the allowed patterns, or past `maxHosts`. */
      leftOut: { count: number; examples: string[] };
    }
  | { ok: false; message: string };

const DEFAULT_MAX_HOSTS = 64;

const DEFAULT_MAX_BYTES = 64 * 1024;

/** Drops a body we will not read; a destroyed body emits an error that nobody else listens for. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/**
 * Fetches and validates the allowlist. Never throws for network or content problems: they come back as
 * `{ ok: false, message }`. Only plain DNS host names matching `patterns` are taken, at most `maxHosts` of them; the
 * rest is left out and counted; a list with none left is a failure. Hosts are lower-cased, deduplicated and sorted.
 */
export async function fetchNotificationAllowlist(url: string, opts: AllowlistFetchOptions): Promise<AllowlistResult> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const what = `notification allowlist ${url}`;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: opts.signal,
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      discard(res.body);
      return { ok: false, message: `${what} answered HTTP ${res.statusCode}` };
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      discard(res.body);
      return { ok: false, message: `${what} sent ${declared} bytes, more than the ${maxBytes} accepted` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) {
        discard(res.body);
        return { ok: false, message: `${what} sent more than the ${maxBytes} bytes accepted` };
      }
      chunks.push(buf);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    return { ok: false, message: `could not fetch ${what}: ${errorText(err)}` };
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, message: `${what} did not answer JSON` };
  }
  if (!Array.isArray(parsed)) {
    return { ok: false, message: `${what} did not answer a JSON array of host names` };
  }
  const maxHosts = opts.maxHosts ?? DEFAULT_MAX_HOSTS;
  const accepted = new Set<string>();
  const leftOut: string[] = [];
  for (const entry of parsed as unknown[]) {
    const h = typeof entry === 'string' ? entry.trim().toLowerCase() : undefined;
    const allowed =
      h !== undefined && h.includes('.') && isDnsName(h) && opts.patterns.some((p) => matchesHostPattern(h, p));
    if (allowed && (accepted.has(h) || accepted.size < maxHosts)) accepted.add(h);
    else leftOut.push(typeof entry === 'string' ? entry.slice(0, 253) : (JSON.stringify(entry)?.slice(0, 80) ?? '?'));
  }
  const hosts = [...accepted].sort();
  if (hosts.length === 0) {
    return {
      ok: false,
      message: `${what} listed no host names matching ${opts.patterns.join(', ')} (${parsed.length} entries)`,
    };
  }
  return { ok: true, hosts, leftOut: { count: leftOut.length, examples: leftOut.slice(0, 5) } };
}
