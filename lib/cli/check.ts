import { parseArgs } from 'node:util';
import { faultText, readPemCertificates } from '../config/pem';
import { ConfigError } from '../catalog';
import { parseCidr, probeTarget, proxyFromEnv } from '../probes';
import type { ProxyConfig } from '../probes/types';
import { runCycle } from '../monitor/cycle';
import { DEFAULT_THRESHOLDS, prepareCycle, readExtraCa, readOsCaBundle, type MonitorInputs } from '../monitor/setup';
import type { CycleReport, TargetResult } from '../monitor/types';
import { parseCloud, parseProxy, parseRegion, readEndpointsFile, readText, UsageError, wholeNumber } from './options';
import { fixFor } from '../rules/fixes';
import {
  indexServiceTags,
  ServiceTagsError,
  withAzureAddressCheck,
  type ServiceTagIndex,
  type TagMatch,
} from '../rules/serviceTags';
import type { ProbeResult } from '../probes/types';
import { CHECK_SCHEMA, legend, renderCsv, renderFixes, renderTable, summaryLines, tally } from './render';

export { UsageError } from './options';

/** Exit statuses of `arcmon check` (and the README's table). */
export const EXIT = {
  ok: 0,
  blocked: 1,
  usage: 2,
  notChecked: 3,
  internal: 4,
  interrupted: 130,
} as const;

export const EXIT_TABLE = `Exit status:
  0    every required endpoint that was checked is reachable (degraded counts as reachable; optional ones never
       count); required endpoints that could not be checked are named in the summary
  1    a required endpoint is blocked
  2    bad usage or configuration: nothing was probed
  3    with --require-all: a required endpoint was not checked (a wildcard with no concrete host)
  4    internal error (a bug: please report it with the message)
  130  interrupted (Ctrl-C)`;

export const CHECK_USAGE = `Usage: arcmon check [options]

Checks, layer by layer (DNS, TCP, TLS, HTTP; NTP over UDP), every endpoint Azure Arc needs, from this machine.

Options:
  --cloud C             AzureCloud (default), AzureUSGovernment or AzureChinaCloud (any letter case)
  --region R            Azure region of your Arc resources, e.g. eastus (regional hosts are skipped without it)
  --scenario S          servers (default), onboarding, resource-bridge, ssh-admin-center, extensions, optional,
                        or all; repeat or comma-separate for several
  --endpoints FILE      JSON file: your own endpoints, wildcard hosts, scenarios, exclusions (see README;
                        at most 1 MiB and 1000 endpoints)
  --dns-server IP[:P]   ask this DNS server instead of the system resolver
  --proxy URL           explicit proxy (http://[user:pass@]host:port); default: HTTPS_PROXY / NO_PROXY
  --no-proxy LIST       hosts that bypass the proxy (comma-separated); default: NO_PROXY
  --private-link        private-link mode: private-link endpoints must resolve to private addresses
  --private-range CIDR  also count this range as private endpoint addresses (repeatable)
  --expected-roots FILE PEM file of roots that count as genuine (sanctioned TLS inspection, tests)
  --timeout-ms N        deadline per endpoint, all phases (default 10000)
  --concurrency N       endpoints probed at once (default 32)
  --no-allowlist        do not fetch the notification service allowlist for azgn* hosts
  --service-tags FILE   Microsoft's ServiceTags_*.json: name the service tags of every resolved address
  --require-all         fail (exit 3) when a required endpoint could not be checked
  --output F            table (default; fits the terminal, 80 columns when not a terminal), json (schema
                        ${CHECK_SCHEMA}), jsonl (one result per line) or csv
  --json                same as --output json
  -q, --quiet           print only the summary (table output)
  -h, --help            this help

${EXIT_TABLE}`;

export const OUTPUTS = ['table', 'json', 'jsonl', 'csv'] as const;
export type Output = (typeof OUTPUTS)[number];

export interface CheckArgs {
  inputs: MonitorInputs;
  /** Index of the service tags file, when --service-tags is given. */
  serviceTags?: ServiceTagIndex;
  concurrency: number;
  output: Output;
  quiet: boolean;
  requireAll: boolean;
}

/** `--private-range` values, each checked as a CIDR. */
function privateRanges(values: string[]): string[] {
  for (const value of values) {
    try {
      parseCidr(value);
    } catch (err) {
      throw new UsageError(`--private-range: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return values.map((v) => v.trim());
}

/** Parses `arcmon check` flags into inputs; reads the files they name. Throws UsageError / ConfigError. */
export async function parseCheckArgs(argv: string[], env: Record<string, string | undefined>): Promise<CheckArgs> {
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
        endpoints: { type: 'string' },
        'dns-server': { type: 'string' },
        proxy: { type: 'string' },
        'no-proxy': { type: 'string' },
        'private-link': { type: 'boolean' },
        'expected-roots': { type: 'string' },
        'timeout-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'no-allowlist': { type: 'boolean' },
        'private-range': { type: 'string', multiple: true },
        'service-tags': { type: 'string' },
        'require-all': { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) throw new UsageError('');
  const output = (v.output ?? (v.json ? 'json' : 'table')).toLowerCase();
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(`--output must be one of ${OUTPUTS.join(', ')}, got "${v.output}"`);
  }
  if (v.json && output !== 'json') throw new UsageError(`--json and --output ${output} exclude each other`);
  const cloud = parseCloud(v.cloud ?? 'AzureCloud', '--cloud');
  const region = parseRegion(v.region ?? '', cloud, '--region');
  const scenarios = (v.scenario ?? []).flatMap((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  const userConfig = v.endpoints ? (await readEndpointsFile(v.endpoints, '--endpoints')).config : undefined;
  const timeoutMs = wholeNumber('--timeout-ms', v['timeout-ms'], 10_000, 100, 120_000);
  const concurrency = wholeNumber('--concurrency', v.concurrency, 32, 1, 1024);

  const noProxy = v['no-proxy'] ?? env.NO_PROXY ?? env.no_proxy ?? '';
  let proxy: ProxyConfig | undefined;
  if (v.proxy !== undefined) proxy = parseProxy(v.proxy, '--proxy', noProxy);
  else {
    try {
      proxy = proxyFromEnv({ ...env, NO_PROXY: noProxy });
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
  }

  const inputs: MonitorInputs = {
    cloud,
    region,
    scenarios,
    ...(userConfig ? { userConfig } : {}),
    ...(v['dns-server'] ? { dnsServer: v['dns-server'] } : {}),
    ...(proxy ? { proxy } : {}),
    privateLink: v['private-link'] ?? false,
    privateRanges: privateRanges(v['private-range'] ?? []),
    ...(v['expected-roots'] ? { expectedRootsPem: await readExpectedRoots(v['expected-roots']) } : {}),
    extraCaPem: await readExtraCa(env),
    osCa: await readOsCaBundle(env),
    timeoutMs,
    thresholds: DEFAULT_THRESHOLDS,
    fetchAllowlist: !(v['no-allowlist'] ?? false),
  };
  let serviceTags: ServiceTagIndex | undefined;
  if (v['service-tags']) {
    try {
      serviceTags = indexServiceTags(await readText(v['service-tags'], '--service-tags'), v['service-tags']);
    } catch (err) {
      if (err instanceof ServiceTagsError) throw new UsageError(`--service-tags: ${err.message}`);
      throw err;
    }
  }
  return {
    inputs,
    ...(serviceTags ? { serviceTags } : {}),
    concurrency,
    output: output as Output,
    quiet: v.quiet ?? false,
    requireAll: v['require-all'] ?? false,
  };
}

/**
 * Reads an `--expected-roots` file and returns its certificates as PEM text (what ARCMON_EXPECTED_ROOTS_PEM holds).
 * Throws UsageError naming the flag and the file when it cannot be read or holds no usable certificate.
 */
export async function readExpectedRoots(file: string): Promise<string> {
  const read = readPemCertificates(await readText(file, '--expected-roots'));
  if (read.ok) return read.pem;
  if (read.problem === 'no-certificate') {
    throw new UsageError(
      `--expected-roots: ${file} holds no certificate (expected -----BEGIN CERTIFICATE----- blocks)`,
    );
  }
  const faults = read.faults.map(
    ({ index, fault }) => `certificate ${index} of ${read.count} cannot be parsed (${faultText(fault)})`,
  );
  throw new UsageError(`--expected-roots: ${file}: ${faults.join('; ')}`);
}

/** Blocked endpoints that count for the exit status: everything selected except optional telemetry. */
export function requiredBlocked(report: CycleReport): number {
  return tally(report).requiredBlocked.length;
}

export interface CheckIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
  /** Width of the terminal stdout writes to; absent when it is not a terminal (the table then fits 80). */
  columns?: number;
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

/** `arcmon check`: returns the exit status. */
export async function runCheck(argv: string[], io: CheckIo): Promise<number> {
  let args: CheckArgs;
  let prepared;
  try {
    args = await parseCheckArgs(argv, io.env);
    prepared = await prepareCycle(args.inputs);
  } catch (err) {
    if (err instanceof UsageError && err.message === '') {
      io.stdout(CHECK_USAGE + '\n');
      return 0;
    }
    if (err instanceof ConfigError) {
      io.stderr(`arcmon: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof UsageError || err instanceof Error) {
      io.stderr(`arcmon: ${err.message}\n(arcmon check --help lists the options)\n`);
      return EXIT.usage;
    }
    throw err;
  }
  const { inputs } = args;
  const total = prepared.expanded.targets.length + prepared.expanded.skipped.length;
  const progress = io.isTTY && args.output === 'table' && !args.quiet;
  const report = await runCycle(prepared.expanded, {
    site: 'cli',
    cloud: inputs.cloud,
    region: inputs.region,
    concurrency: args.concurrency,
    timeoutMs: inputs.timeoutMs,
    probe: probeTarget,
    ctx: prepared.ctx,
    ...(io.signal ? { signal: io.signal } : {}),
    ...(progress
      ? { onResult: (tr, done) => io.stderr(`\r\x1b[K[${done}/${total}] ${tr.target.id} ${tr.result.verdict}`) }
      : {}),
  });
  if (progress) io.stderr('\r\x1b[K');
  if (io.signal?.aborted) {
    io.stderr('arcmon: interrupted; the results are incomplete\n');
    return EXIT.interrupted;
  }
  // With a service tags file, an Azure-operated name answered from outside Azure's ranges is a finding.
  const tags = args.serviceTags;
  if (tags) {
    for (const r of report.results) r.result = withAzureAddressCheck(r.target, r.result, tags);
    for (const verdict of Object.keys(report.counts) as (keyof typeof report.counts)[])
      report.counts[verdict] = report.results.filter((r) => r.result.verdict === verdict).length;
  }
  const width = io.columns ?? 80;
  switch (args.output) {
    case 'json':
      io.stdout(JSON.stringify(checkDocument(report, prepared.notes, inputs, tags), null, 2) + '\n');
      break;
    case 'jsonl':
      for (const r of report.results) io.stdout(JSON.stringify(resultRecord(r, report.cloud, tags)) + '\n');
      break;
    case 'csv':
      io.stdout(renderCsv(report));
      break;
    case 'table':
      if (!args.quiet) {
        for (const note of prepared.notes) io.stdout(`note: ${note}\n`);
        io.stdout(
          renderTable(report, { width }) + '\n' + renderFixes(report, tags) + '\n' + legend(report, width) + '\n\n',
        );
      }
      io.stdout(summaryLines(report).join('\n') + '\n');
  }
  const t = tally(report);
  if (t.requiredBlocked.length > 0) return EXIT.blocked;
  if (args.requireAll && t.requiredSkipped.length > 0) return EXIT.notChecked;
  return EXIT.ok;
}

/**
 * One result as the JSON outputs show it. A skipped row was not probed: its finding carries no severity (it neither
 * blocks nor degrades anything; the summary counts it apart).
 */
export function resultRecord(
  r: TargetResult,
  cloud: CycleReport['cloud'] = 'AzureCloud',
  serviceTags?: ServiceTagIndex,
) {
  if (r.result.verdict !== 'skipped') {
    const addressTags = serviceTags ? tagsOfAddresses(r.result, serviceTags) : undefined;
    const fix = fixFor({ ...r.target, cloud, addressTags: addressTags && uniqueTags(addressTags) }, r.result);
    return { target: r.target, ...r.result, ...(addressTags ? { addressTags } : {}), ...(fix ? { fix } : {}) };
  }
  const strip = <T extends { severity?: unknown }>({ severity: _severity, ...rest }: T) => rest;
  const { failure, findings, ...rest } = r.result;
  const fix = fixFor({ ...r.target, cloud }, r.result);
  return {
    target: r.target,
    ...rest,
    ...(failure ? { failure: strip(failure) } : {}),
    findings: findings.map(strip),
    ...(fix ? { fix } : {}),
  };
}

/** The `--output json` document (schema documented in the README). */
export function checkDocument(
  report: CycleReport,
  notes: string[],
  inputs: MonitorInputs,
  serviceTags?: ServiceTagIndex,
) {
  const t = tally(report);
  return {
    schema: CHECK_SCHEMA,
    cycleId: report.cycleId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    durationMs: report.durationMs,
    cloud: report.cloud,
    region: report.region,
    privateLink: inputs.privateLink,
    dnsServer: inputs.dnsServer ?? 'system',
    notes,
    summary: {
      ...report.counts,
      total: report.results.length,
      requiredBlocked: t.requiredBlocked.length,
      requiredNotChecked: t.requiredSkipped.length,
    },
    ...(serviceTags ? { serviceTags: { changeNumber: serviceTags.changeNumber, cloud: serviceTags.cloud } } : {}),
    results: report.results.map((r) => resultRecord(r, report.cloud, serviceTags)),
  };
}

/** Per resolved address, the service tags covering it, most specific first. */
export function tagsOfAddresses(result: ProbeResult, index: ServiceTagIndex): Record<string, TagMatch[]> {
  return Object.fromEntries((result.dns?.addresses ?? []).map((a) => [a.address, index.lookup(a.address)]));
}

/** Tag names over all addresses, most specific first, each once. */
export function uniqueTags(byAddress: Record<string, TagMatch[]>): string[] {
  const out: string[] = [];
  for (const matches of Object.values(byAddress)) for (const m of matches) if (!out.includes(m.tag)) out.push(m.tag);
  return out;
}
