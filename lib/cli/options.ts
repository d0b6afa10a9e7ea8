import { readFile, stat } from 'node:fs/promises';
import { closest, CLOUDS, cloudOfRegion, parseUserConfig, REGIONS, type Cloud, type UserConfig } from '../catalog';
import { parseProxyUrl } from '../probes';
import type { ProxyConfig } from '../probes/types';

/** A command-line or setting value that is wrong; the message names the option the user wrote. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Largest endpoints file accepted, and most endpoints in it: a typo, not a catalog, beyond that. */
export const ENDPOINTS_FILE_MAX_BYTES = 1024 * 1024;
export const ENDPOINTS_MAX = 1000;

/** A cloud name in any letter case (`azureusgovernment`), as its canonical spelling. */
export function parseCloud(value: string, option: string): Cloud {
  const found = CLOUDS.find((c) => c.toLowerCase() === value.trim().toLowerCase());
  if (found) return found;
  const guess = closest(value.trim(), CLOUDS);
  const hint = guess ? `; did you mean "${guess}"?` : '';
  throw new UsageError(`${option} must be one of ${CLOUDS.join(', ')}, got "${value}"${hint}`);
}

/**
 * A region of `cloud`, lower case (`West Europe` → `westeurope`); empty stays empty. Names outside the cloud's
 * list are refused with the nearest name, or the cloud it belongs to.
 */
export function parseRegion(value: string, cloud: Cloud, option: string): string {
  const region = value.trim().toLowerCase().replace(/\s+/g, '');
  if (region === '') return '';
  if (REGIONS[cloud].includes(region)) return region;
  const other = cloudOfRegion(region);
  if (other) {
    throw new UsageError(
      `${option} "${value}" is a region of ${other}, not of ${cloud}; ${cloud} regions: ${REGIONS[cloud].join(', ')}`,
    );
  }
  const guess = closest(region, REGIONS[cloud]);
  const hint = guess
    ? `did you mean "${guess}"?`
    : cloud === 'AzureCloud'
      ? 'az account list-locations --query "[].name" lists them'
      : `its regions: ${REGIONS[cloud].join(', ')}`;
  throw new UsageError(`${option} "${value}" is not a region of ${cloud}; ${hint}`);
}

/** A whole number within bounds, or the default when absent. */
export function wholeNumber(option: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value.trim()))
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got ${n}`);
  return n;
}

/**
 * An explicit proxy: `http://[user:pass@]host:port` and nothing else (no path, query or fragment; https proxies
 * are not supported). Messages start with `option`.
 */
export function parseProxy(value: string, option: string, noProxy: string): ProxyConfig {
  const shape = 'give it as http://[user:pass@]host:port';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim()) ? value.trim() : `http://${value.trim()}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${option}: "${value}" is not a URL; ${shape}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new UsageError(`${option}: "${value}" has a path, query or fragment; a proxy is a host and port: ${shape}`);
  }
  try {
    return parseProxyUrl(value, noProxy, option);
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}; ${shape}`);
  }
}

/** Reads a file a flag names; a missing or unreadable file is a usage error naming the flag. */
export async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${option}: cannot read ${file} (${code}); give the path of an existing file`);
  }
}

/** Reads and validates an endpoints file within its size and count limits; returns the text and the config. */
export async function readEndpointsFile(file: string, option: string): Promise<{ text: string; config: UserConfig }> {
  const size = await stat(file).then(
    (s) => s.size,
    () => 0,
  );
  if (size > ENDPOINTS_FILE_MAX_BYTES) {
    throw new UsageError(
      `${option}: ${file} is ${(size / 1024 / 1024).toFixed(1)} MiB; the limit is 1 MiB (at most ${ENDPOINTS_MAX} endpoints)`,
    );
  }
  const text = await readText(file, option);
  const config = parseUserConfig(text, file);
  if (config.endpoints.length > ENDPOINTS_MAX) {
    throw new UsageError(
      `${option}: ${file} lists ${config.endpoints.length} endpoints; the limit is ${ENDPOINTS_MAX}`,
    );
  }
  return { text, config };
}
