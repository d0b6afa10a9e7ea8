import type { ProbeResult } from '../probes/types';
import type { CycleReport, TargetResult } from '../monitor/types';
import { fixFor } from '../rules/fixes';
import type { ServiceTagIndex } from '../rules/serviceTags';

/** Version of the `--output json` document; bump on any breaking change to its shape. */
export const CHECK_SCHEMA = 'arcmon.check/v1';

/** Short label per requirement, and what it means (printed as the table's legend). */
const REQUIREMENT_LABEL: Record<string, { label: string; meaning: string }> = {
  always: { label: 'always', meaning: 'needed at all times' },
  'always-unless-private-endpoints': {
    label: 'always*',
    meaning: 'needed at all times unless private endpoints are used',
  },
  'connect-disconnect': { label: 'onboard', meaning: 'needed to connect or disconnect a machine' },
  installation: { label: 'install', meaning: 'needed while installing the agent' },
  'ssh-admin-center': { label: 'ssh/wac', meaning: 'needed for SSH or Windows Admin Center access' },
  conditional: { label: 'cond.', meaning: 'needed when the feature that uses it is enabled' },
  optional: { label: 'optional', meaning: 'optional telemetry; never fails the run' },
};

export function requirementLabel(requirement: string): string {
  return REQUIREMENT_LABEL[requirement]?.label ?? requirement;
}

/** Mark for one layer: ok, the failing layer, or not reached. */
export function layer(r: ProbeResult, phase: 'dns' | 'connect' | 'tls' | 'http'): string {
  const failedHere = r.findings.find((f) => f.phase === phase || (phase === 'connect' && f.phase === 'proxy'));
  if (r.verdict === 'skipped') return '-';
  if (failedHere?.severity === 'blocking') return 'FAIL';
  const ran =
    phase === 'dns'
      ? r.dns !== undefined
      : phase === 'connect'
        ? r.timings.connect !== undefined || r.timings.proxy !== undefined
        : phase === 'tls'
          ? r.tls !== undefined
          : r.http !== undefined;
  if (failedHere) return 'warn';
  if (phase === 'dns' && r.dns?.informational) return 'proxy';
  return ran ? 'ok' : '.';
}

function httpCell(r: ProbeResult): string {
  if (r.ntp) return 'ntp';
  if (r.http) return String(r.http.status);
  return layer(r, 'http');
}

/** The human reason of a row: the failure (with its fix), or what worked. */
export function reason(tr: TargetResult): string {
  // A retired row says why it does not count, before anything else.
  // The full source is in --json and `arcmon catalog`; the table keeps the date.
  if (tr.target.retired) return `not counted (${tr.target.retired.replace(/:.*$/s, '')}); ${probeReason(tr)}`;
  return probeReason(tr);
}

function probeReason(tr: TargetResult): string {
  const r = tr.result;
  if (r.failure) return `${r.failure.code}: ${r.failure.message}`;
  if (r.ntp) return `offset ${r.ntp.offsetMs.toFixed(1)} ms, stratum ${r.ntp.stratum}`;
  const addr = r.dns?.addresses.map((a) => `${a.address}(${a.scope})`).join(' ') ?? '';
  return `${r.tls?.protocol ?? ''} HTTP ${r.http?.status ?? '?'} ${addr}`.trim();
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Shortens `host:port` in the middle of the host, never touching the port: `usgovvir…zure.us:443`. */
export function elideMiddle(id: string, max: number): string {
  if (id.length <= max) return id;
  const colon = id.lastIndexOf(':');
  const tail = colon > 0 ? id.slice(colon) : '';
  const host = colon > 0 ? id.slice(0, colon) : id;
  const room = Math.max(2, max - tail.length - 1);
  const front = Math.ceil(room / 2);
  return host.slice(0, front) + '…' + host.slice(host.length - (room - front)) + tail;
}

/** Word-wraps `text` to `width` columns, each line prefixed by `indent`; breaks words longer than a line. */
export function wrap(text: string, width: number, indent = ''): string[] {
  const room = Math.max(10, width - indent.length);
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > room) {
      if (line) lines.push(line);
      lines.push(word.slice(0, room));
      word = word.slice(room);
      line = '';
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= room) line += ' ' + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l);
}

/** Columns after ENDPOINT: name and width. */
const COLUMNS = [
  ['REQUIRED', 8],
  ['DNS', 5],
  ['TCP', 4],
  ['TLS', 4],
  ['HTTP', 4],
  ['VERDICT', 9],
  ['MS', 5],
] as const;
const FIXED = COLUMNS.reduce((n, [, w]) => n + w + 1, 0);
const REASON_INDENT = '    ';

/**
 * The table a person reads at a glance, one row per target, fitted to `width` columns (default 80): the
 * endpoint is never cut (a name longer than its column goes on its own line; only a name longer than the whole
 * width loses the middle of its host), the reason goes on the row when it fits and on indented lines below it when
 * it does not, so the code and the fix always show.
 */
export function renderTable(report: CycleReport, opts: { width?: number } = {}): string {
  const width = Math.max(60, opts.width ?? 80);
  const rows = [...report.results];
  const longest = Math.max(8, ...rows.map((r) => r.target.id.length));
  // The endpoint column takes what the fixed columns leave, but at most the longest name.
  const endpointWidth = Math.min(longest, width - FIXED - 1 - 'REASON'.length);
  const head = [pad('ENDPOINT', endpointWidth), ...COLUMNS.map(([name, w]) => pad(name, w)), 'REASON'].join(' ');
  const lines = [head];
  for (const tr of rows) {
    const r = tr.result;
    const cells = [
      requirementLabel(tr.target.requirement),
      layer(r, 'dns'),
      layer(r, 'connect'),
      layer(r, 'tls'),
      httpCell(r),
      r.verdict.toUpperCase(),
      String(Math.round(r.timings.total)),
    ];
    const id = tr.target.id;
    let first: string;
    if (id.length <= endpointWidth) first = pad(id, endpointWidth);
    else {
      lines.push(elideMiddle(id, width));
      first = ' '.repeat(endpointWidth);
    }
    const row = [first, ...cells.map((c, i) => pad(c, COLUMNS[i]?.[1] ?? 0))].join(' ');
    const why = reason(tr);
    const room = width - row.length - 1;
    if (why.length <= room) lines.push(`${row} ${why}`);
    else {
      lines.push(row.trimEnd());
      lines.push(...wrap(why, width, REASON_INDENT));
    }
  }
  return lines.join('\n');
}

/** One line per requirement label present in the report, and the layer marks. */
export function legend(report: CycleReport, width = 80): string {
  const present = new Set(report.results.map((r) => r.target.requirement));
  const labels = Object.entries(REQUIREMENT_LABEL)
    .filter(([requirement]) => present.has(requirement as TargetResult['target']['requirement']))
    .map(([, { label, meaning }]) => `${label} = ${meaning}`);
  const out = labels.length > 0 ? wrap(`REQUIRED: ${labels.join('; ')}.`, width) : [];
  out.push(
    ...wrap(
      'Layers: ok passed; FAIL broke here; warn degraded here; . not reached; - not probed; proxy = answered through the proxy.',
      width,
    ),
  );
  return out.join('\n');
}

/** Whether an endpoint counts for the exit status: everything selected except optional telemetry. */
export function isRequired(tr: TargetResult): boolean {
  // A retired catalog row is probed and shown, but never counts (lib/catalog/current.ts).
  return tr.target.requirement !== 'optional' && !tr.target.retired;
}

/** What the summary and the exit status rest on. */
export interface Tally {
  requiredBlocked: TargetResult[];
  requiredSkipped: TargetResult[];
  requiredChecked: number;
}

export function tally(report: CycleReport): Tally {
  const required = report.results.filter(isRequired);
  return {
    requiredBlocked: required.filter((r) => r.result.verdict === 'blocked'),
    requiredSkipped: required.filter((r) => r.result.verdict === 'skipped'),
    requiredChecked: required.filter((r) => r.result.verdict !== 'skipped').length,
  };
}

/** The settings that would make skipped rows concrete, without repeats (from each row's "fix:"). */
export function fixesOf(rows: readonly TargetResult[]): string[] {
  const fixes = rows.map((r) => /; fix: (.*)$/s.exec(r.result.failure?.message ?? '')?.[1]?.trim() ?? '');
  return [...new Set(fixes.filter(Boolean))];
}

/**
 * The summary: counts, then the verdict on the required endpoints. It never says "all reachable" about endpoints
 * that were not probed: skipped required endpoints are counted and named with the settings that fix them.
 */
export function summaryLines(report: CycleReport): string[] {
  const c = report.counts;
  const t = tally(report);
  const where = `(${report.cloud}${report.region ? ' ' + report.region : ''}, ${report.durationMs} ms)`;
  let verdict: string;
  if (t.requiredBlocked.length > 0) verdict = `${t.requiredBlocked.length} required endpoint(s) BLOCKED`;
  else if (t.requiredChecked === 0) verdict = 'no required endpoint was checked';
  else if (t.requiredSkipped.length > 0)
    verdict = `the ${t.requiredChecked} required endpoint(s) checked are reachable`;
  else verdict = 'all required endpoints reachable';
  const lines = [
    `${report.results.length} endpoints: ${c.reachable} reachable, ${c.degraded} degraded, ${c.blocked} blocked, ${c.skipped} skipped — ${verdict} ${where}`,
  ];
  if (t.requiredSkipped.length > 0) {
    const n = t.requiredSkipped.length;
    lines.push(
      `${n} required endpoint${n === 1 ? '' : 's'} not checked (${t.requiredSkipped.map((r) => r.target.id).join(', ')}): ${fixesOf(t.requiredSkipped).join('; ')}`,
    );
  }
  return lines;
}

/** The `--output csv` header and rows (RFC 4180 quoting). */
export function renderCsv(report: CycleReport): string {
  const head = [
    'endpoint',
    'host',
    'port',
    'transport',
    'requirement',
    'verdict',
    'code',
    'phase',
    'dns',
    'tcp',
    'tls',
  ];
  head.push('http', 'ms', 'reason', 'purpose');
  const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [head.join(',')];
  for (const tr of report.results) {
    const r = tr.result;
    const cells = [tr.target.id, tr.target.host, String(tr.target.port), tr.target.transport, tr.target.requirement];
    cells.push(r.verdict, r.failure?.code ?? '', r.failure?.phase ?? '');
    cells.push(layer(r, 'dns'), layer(r, 'connect'), layer(r, 'tls'), httpCell(r));
    cells.push(String(Math.round(r.timings.total)), reason(tr), tr.target.purpose);
    lines.push(cells.map(quote).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** One line per blocked or degraded endpoint: what to change (empty when nothing failed). */
export function renderFixes(report: CycleReport, serviceTags?: ServiceTagIndex): string {
  const lines: string[] = [];
  for (const tr of report.results) {
    if (tr.result.verdict !== 'blocked' && tr.result.verdict !== 'degraded') continue;
    const addressTags = serviceTags
      ? [...new Set((tr.result.dns?.addresses ?? []).flatMap((a) => serviceTags.lookup(a.address).map((m) => m.tag)))]
      : undefined;
    const fix = fixFor({ ...tr.target, cloud: report.cloud, addressTags }, tr.result);
    if (fix) lines.push(`  ${tr.target.id}  [${fix.place}] ${fix.summary}`);
  }
  return lines.length === 0 ? '' : `\nTo fix:\n${lines.join('\n')}\n`;
}
