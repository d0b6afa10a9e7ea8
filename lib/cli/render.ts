import type { ProbeResult } from '../probes/types';
import type { CycleReport, TargetResult } from '../monitor/types';
import { fixFor } from '../rules/fixes';
import type { ServiceTagIndex } from '../rules/serviceTags';

/** Version of the `--json` document; bump on any breaking change to its shape. */
export const CHECK_SCHEMA = 'arcmon.check/v1';

const REQUIREMENT_LABEL: Record<string, string> = {
  always: 'always',
  'always-unless-private-endpoints': 'always*',
  'connect-disconnect': 'onboard',
  installation: 'install',
  'ssh-admin-center': 'ssh/wac',
  conditional: 'cond.',
  optional: 'optional',
};

/** Mark for one layer: ok, the failing layer, or not reached. */
function layer(r: ProbeResult, phase: 'dns' | 'connect' | 'tls' | 'http'): string {
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
  if (r.ntp) return `ntp ${Math.round(r.ntp.offsetMs)}ms`;
  if (r.http) return String(r.http.status);
  return layer(r, 'http');
}

function reason(tr: TargetResult): string {
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
  return s.length >= n ? s.slice(0, n) : s + ' '.repeat(n - s.length);
}

/** The table a person reads at a glance, one row per target. */
export function renderTable(report: CycleReport, opts: { width?: number } = {}): string {
  const rows = [...report.results];
  const endpointWidth = Math.min(48, Math.max(8, ...rows.map((r) => r.target.id.length)));
  const head = [
    pad('ENDPOINT', endpointWidth),
    pad('REQUIRED', 8),
    pad('DNS', 5),
    pad('TCP', 5),
    pad('TLS', 5),
    pad('HTTP', 9),
    pad('VERDICT', 9),
    pad('MS', 6),
    'REASON',
  ].join(' ');
  const width = opts.width ?? 200;
  const lines = [head];
  for (const tr of rows) {
    const r = tr.result;
    const line = [
      pad(tr.target.id, endpointWidth),
      pad(REQUIREMENT_LABEL[tr.target.requirement] ?? tr.target.requirement, 8),
      pad(layer(r, 'dns'), 5),
      pad(layer(r, 'connect'), 5),
      pad(layer(r, 'tls'), 5),
      pad(httpCell(r), 9),
      pad(r.verdict.toUpperCase(), 9),
      pad(String(Math.round(r.timings.total)), 6),
      reason(tr),
    ].join(' ');
    lines.push(line.length > width ? line.slice(0, width - 1) + '…' : line);
  }
  return lines.join('\n');
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

export function summaryLine(report: CycleReport, requiredBlocked: number): string {
  const c = report.counts;
  const verdict =
    requiredBlocked > 0 ? `${requiredBlocked} required endpoint(s) BLOCKED` : 'all required endpoints reachable';
  return `${report.results.length} endpoints: ${c.reachable} reachable, ${c.degraded} degraded, ${c.blocked} blocked, ${c.skipped} skipped — ${verdict} (${report.cloud}${report.region ? ' ' + report.region : ''}, ${report.durationMs} ms)`;
}
