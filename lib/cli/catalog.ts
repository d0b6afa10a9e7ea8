/**
 * `arcmon catalog`: what is checked and why, for a cloud, region and scenario set — one row per catalog entry,
 * with its concrete hosts (or why it is skipped), status (seed / current / retired), service tags and source.
 */
import { parseArgs } from 'node:util';
import { CATALOG } from '../catalog/entries';
import { entryStatus } from '../catalog/current';
import { expandTargets, resolveScenarios } from '../catalog/expand';
import type { ExpandOptions } from '../catalog/expand';
import { CLOUDS, SCENARIOS } from '../catalog/types';
import type { CatalogEntry, Cloud, EntryStatus } from '../catalog/types';

/** Version of the `--json` document; bump on any breaking change to its shape. */
export const CATALOG_SCHEMA = 'arcmon.catalog/v1';

export const CATALOG_USAGE = `Usage: arcmon catalog [options]

Lists the endpoints the monitor checks for a cloud, region and scenarios: hosts, port, when required, status
(seed: from the seed documents; current: from Microsoft's current pages; retired: a later page dropped it),
service tags and source.

Options:
  --cloud C             AzureCloud (default), AzureUSGovernment or AzureChinaCloud
  --region R            Azure region, e.g. eastus (regional hosts are shown as skipped without it)
  --scenario S          ${SCENARIOS.join(', ')}, or all (default);
                        repeat or comma-separate for several
  --gateway-prefix P    prefix of your Azure Arc gateway URL (<P>.gw.arc.azure.com)
  --workspace-id ID     Log Analytics workspace id for Azure Monitor Agent (<ID>.ods.opinsights.azure.com)
  --dns-server IP       a DNS server the resource bridge was given (repeatable)
  --json                one JSON document (schema ${CATALOG_SCHEMA})
  --markdown            a Markdown table (the README's catalog section is this output)
  -h, --help            this help`;

class CatalogUsageError extends Error {}

export interface CatalogRow {
  id: string;
  status: EntryStatus;
  cloud: Cloud;
  agent: CatalogEntry['agent'];
  hostPattern: string;
  /** Concrete hosts probed for this row (empty when skipped). */
  hosts: string[];
  /** Why part or all of the row is not probed, and the option that fixes it. */
  skipped?: { reason: string; fix: string };
  port: number;
  transport: CatalogEntry['transport'];
  protocol: CatalogEntry['protocol'];
  checks: string[];
  requirement: CatalogEntry['requirement'];
  requirementText: string;
  scenarios: string[];
  serviceTags: string[];
  purpose: string;
  source: string;
  retired?: CatalogEntry['retired'];
  differences?: string[];
}

interface CatalogArgs {
  opts: ExpandOptions;
  format: 'table' | 'json' | 'markdown';
}

function parseCatalogArgs(argv: string[]): CatalogArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        cloud: { type: 'string' },
        region: { type: 'string' },
        scenario: { type: 'string', multiple: true },
        'gateway-prefix': { type: 'string' },
        'workspace-id': { type: 'string' },
        'dns-server': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        markdown: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CatalogUsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) throw new CatalogUsageError('');
  const cloud = (v.cloud ?? 'AzureCloud') as Cloud;
  if (!(CLOUDS as readonly string[]).includes(cloud)) {
    throw new CatalogUsageError(`--cloud must be one of ${CLOUDS.join(', ')}, got "${v.cloud}"`);
  }
  const region = (v.region ?? '').trim().toLowerCase();
  if (region !== '' && !/^[a-z0-9]+$/.test(region)) {
    throw new CatalogUsageError(`--region must be a region name such as eastus or westeurope, got "${v.region}"`);
  }
  if (v.json && v.markdown) throw new CatalogUsageError('--json and --markdown exclude each other; give one');
  const names = (v.scenario ?? ['all']).flatMap((s) => s.split(',').map((x) => x.trim()));
  let scenarios;
  try {
    scenarios = resolveScenarios(names);
  } catch (err) {
    throw new CatalogUsageError(`--scenario: ${err instanceof Error ? err.message : String(err)}`);
  }
  const prefix = v['gateway-prefix']?.trim().toLowerCase();
  if (prefix !== undefined && !/^[a-z0-9][a-z0-9-]{0,62}$/.test(prefix)) {
    throw new CatalogUsageError(`--gateway-prefix must be the first label of your gateway URL, got "${prefix}"`);
  }
  const workspace = v['workspace-id']?.trim().toLowerCase();
  if (workspace !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(workspace)) {
    throw new CatalogUsageError(`--workspace-id must be a Log Analytics workspace id (a GUID), got "${workspace}"`);
  }
  return {
    opts: {
      cloud,
      region,
      scenarios,
      wildcards: {
        ...(prefix ? { gatewayPrefix: prefix } : {}),
        ...(workspace ? { workspaceId: workspace } : {}),
        ...(v['dns-server'] ? { dnsServers: v['dns-server'] } : {}),
      },
    },
    format: v.json ? 'json' : v.markdown ? 'markdown' : 'table',
  };
}

function sourceOf(e: CatalogEntry): string {
  const page = e.source.page;
  return page ? `${page.path.replace(/^articles\/azure-arc\//, '')} (${page.msDate})` : e.source.document;
}

/** One row per selected entry, in catalog order, each expanded on its own. */
export function catalogRows(opts: ExpandOptions): CatalogRow[] {
  return CATALOG.filter((e) => e.cloud === opts.cloud).flatMap((e) => {
    const { targets, skipped } = expandTargets([e], opts);
    if (targets.length === 0 && skipped.length === 0) return [];
    const skip = skipped[0];
    return [
      {
        id: e.id,
        status: entryStatus(e),
        cloud: e.cloud,
        agent: e.agent,
        hostPattern: e.hostPattern,
        hosts: targets.map((t) => t.host),
        ...(skip ? { skipped: { reason: skip.reason, fix: skip.fix } } : {}),
        port: e.port,
        transport: e.transport,
        protocol: e.protocol,
        checks: e.checks ?? [],
        requirement: e.requirement,
        requirementText: e.requirementText,
        scenarios: e.scenarios,
        serviceTags: e.serviceTags,
        purpose: e.purpose,
        source: sourceOf(e),
        ...(e.retired ? { retired: e.retired } : {}),
        ...(e.differences ? { differences: e.differences } : {}),
      },
    ];
  });
}

const statusCell = (r: CatalogRow) => (r.retired ? `retired ${r.retired.date}` : r.status);
const hostsCell = (r: CatalogRow) => [...r.hosts, ...(r.skipped ? [`${r.hostPattern} (skipped)`] : [])].join(', ');
const portCell = (r: CatalogRow) =>
  `${r.port}/${r.transport} ${r.protocol}${r.checks.length > 0 ? `+${r.checks.join('+')}` : ''}`;

function markdown(rows: CatalogRow[], opts: ExpandOptions): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = [
    '| Host | Port | Required | Status | Scenarios | Service tags | Source |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const host = [...r.hosts.map((h) => `\`${h}\``), ...(r.skipped ? [`\`${r.hostPattern}\` (skipped)`] : [])];
    lines.push(
      `| ${esc(host.join(', '))} | ${portCell(r)} | ${r.requirement} | ${statusCell(r)} | ${r.scenarios.join(', ')} | ${r.serviceTags.join(', ')} | ${esc(r.source)} |`,
    );
  }
  const retired = rows.filter((r) => r.retired);
  const notes = [
    '',
    `${rows.length} rows for ${opts.cloud}${opts.region ? ` ${opts.region}` : ''}: ` +
      `${rows.filter((r) => r.status === 'seed').length} seed, ${rows.filter((r) => r.status === 'current').length} current, ` +
      `${retired.length} retired (probed and shown, never counted as blocked, never an incident).`,
    '',
    ...retired.map(
      (r) => `- \`${r.hostPattern}\` (${r.id}) retired ${r.retired?.date}: ${esc(r.retired?.source ?? '')}`,
    ),
  ];
  return [...lines, ...notes].join('\n') + '\n';
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: CatalogRow[]): string {
  const cells = rows.map((r) => [
    hostsCell(r),
    portCell(r),
    r.requirement,
    statusCell(r),
    r.scenarios.join(','),
    r.serviceTags.join(','),
    r.source,
  ]);
  const head = ['HOST', 'PORT', 'REQUIRED', 'STATUS', 'SCENARIOS', 'TAGS', 'SOURCE'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length))));
  return (
    [head, ...cells]
      .map((c) =>
        c
          .map((x, i) => pad(x, widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** Renders the catalog for the given options in one format. */
export function renderCatalog(opts: ExpandOptions, format: 'table' | 'json' | 'markdown'): string {
  const rows = catalogRows(opts);
  if (format === 'markdown') return markdown(rows, opts);
  if (format === 'json') {
    const doc = { schema: CATALOG_SCHEMA, cloud: opts.cloud, region: opts.region, scenarios: opts.scenarios, rows };
    return JSON.stringify(doc, null, 2) + '\n';
  }
  return table(rows);
}

export interface CatalogIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** `arcmon catalog`: returns the exit status (0, or 2 for bad usage). */
export function runCatalog(argv: string[], io: CatalogIo): number {
  let args: CatalogArgs;
  try {
    args = parseCatalogArgs(argv);
  } catch (err) {
    if (!(err instanceof CatalogUsageError)) throw err;
    if (err.message === '') {
      io.stdout(CATALOG_USAGE + '\n');
      return 0;
    }
    io.stderr(`arcmon catalog: ${err.message}\n\n${CATALOG_USAGE}\n`);
    return 2;
  }
  io.stdout(renderCatalog(args.opts, args.format));
  return 0;
}
