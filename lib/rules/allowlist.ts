/**
 * What a firewall or proxy in front of the machines must allow, from the same catalog the monitor probes: one item
 * per host pattern, port and transport of the selected entries, with the concrete hosts the monitor would probe
 * for it. The device formats (formats.ts) decide per device whether the pattern itself can be written (each device
 * has its own wildcard syntax) or the concrete hosts must be listed.
 */
import { expandTargets, type ExpandOptions } from '../catalog/expand';
import {
  REQUIREMENTS,
  type CatalogEntry,
  type Cloud,
  type Protocol,
  type Requirement,
  type Scenario,
  type Transport,
} from '../catalog/types';

/** One thing to allow: a host pattern (possibly a wildcard) on one port and transport. */
export interface AllowItem {
  /** As the catalog writes it, lower case: `*.his.arc.azure.com`, `azgn*.servicebus.windows.net`, `management.azure.com`. */
  pattern: string;
  /** Concrete hosts for the pattern in this cloud and region (the pattern itself when it has no wildcard). */
  hosts: string[];
  port: number;
  transport: Transport;
  protocol: Protocol;
  /** The strongest requirement over the entries (REQUIREMENTS order). */
  requirement: Requirement;
  purpose: string;
  serviceTags: string[];
  entryIds: string[];
  scenarios: Scenario[];
  /** When the wildcard has no concrete host here: why, and what would give it one. */
  unresolved?: { reason: string; fix: string };
}

export interface Allowlist {
  cloud: Cloud;
  region: string;
  scenarios: readonly Scenario[] | 'all';
  items: AllowItem[];
}

const rank = (r: Requirement) => REQUIREMENTS.indexOf(r);
const hasWildcard = (pattern: string) => pattern.includes('*');

/**
 * The allowlist of the entries selected by `opts` (cloud, scenarios), with concrete hosts for `opts.region` and
 * the configured wildcard hosts. Items are ordered by requirement strength, then pattern and port.
 */
export function buildAllowlist(entries: readonly CatalogEntry[], opts: ExpandOptions): Allowlist {
  const items = new Map<string, AllowItem>();
  for (const entry of entries) {
    // Selection and concrete hosts come from the monitor's own expansion, one entry at a time, so the rules and
    // the probes can never disagree on what an entry means.
    const one = expandTargets([entry], opts);
    if (one.targets.length === 0 && one.skipped.length === 0) continue;
    const pattern = entry.hostPattern.toLowerCase();
    const key = `${pattern}|${entry.port}|${entry.transport}`;
    const item = items.get(key) ?? {
      pattern,
      hosts: [],
      port: entry.port,
      transport: entry.transport,
      protocol: entry.protocol,
      requirement: entry.requirement,
      purpose: entry.purpose,
      serviceTags: [],
      entryIds: [],
      scenarios: [],
    };
    for (const t of one.targets) if (!item.hosts.includes(t.host)) item.hosts.push(t.host);
    if (rank(entry.requirement) < rank(item.requirement)) {
      item.requirement = entry.requirement;
      item.purpose = entry.purpose;
    }
    for (const tag of entry.serviceTags) if (!item.serviceTags.includes(tag)) item.serviceTags.push(tag);
    for (const s of entry.scenarios) if (!item.scenarios.includes(s)) item.scenarios.push(s);
    item.entryIds.push(entry.id);
    const skipped = one.skipped[0];
    if (skipped && item.hosts.length === 0) item.unresolved = { reason: skipped.reason, fix: skipped.fix };
    if (item.hosts.length > 0) delete item.unresolved;
    items.set(key, item);
  }
  const list = [...items.values()];
  for (const item of list) {
    item.hosts.sort();
    if (!hasWildcard(item.pattern) && item.hosts.length === 0) item.hosts.push(item.pattern);
  }
  list.sort(
    (a, b) =>
      rank(a.requirement) - rank(b.requirement) ||
      a.pattern.localeCompare(b.pattern) ||
      a.port - b.port ||
      a.transport.localeCompare(b.transport),
  );
  return { cloud: opts.cloud, region: opts.region, scenarios: opts.scenarios, items: list };
}

/** True when the pattern has a wildcard. */
export function isWildcard(item: Pick<AllowItem, 'pattern'>): boolean {
  return hasWildcard(item.pattern);
}
