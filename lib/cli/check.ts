import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CLOUDS, type Cloud } from '../catalog/types';
import { faultText, readPemCertificates } from '../config/pem';
import { ConfigError, parseUserConfig } from '../catalog';
import { parseCidr, probeTarget, proxyFromEnv } from '../probes';
import type { ProxyConfig } from '../probes/types';
import { runCycle } from '../monitor/cycle';
import { DEFAULT_THRESHOLDS, prepareCycle, readExtraCa, readOsCaBundle, type MonitorInputs } from '../monitor/setup';
import type { CycleReport } from '../monitor/types';
import { fixFor } from '../rules/fixes';
import {
  indexServiceTags,
  ServiceTagsError,
  withAzureAddressCheck,
  type ServiceTagIndex,
  type TagMatch,
} from '../rules/serviceTags';
import type { ProbeResult } from '../probes/types';
import { CHECK_SCHEMA, renderFixes, renderTable, summaryLine } from './render';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const CHECK_USAGE = `Usage: arcmon check [options]

Checks, layer by layer (DNS, TCP, TLS, HTTP; NTP over UDP), every endpoint Azure Arc needs, from this machine.

Options:
  --cloud C             AzureCloud (default), AzureUSGovernment or AzureChinaCloud
  --region R            Azure region of your Arc resources, e.g. eastus (regional hosts are skipped without it)
  --scenario S          servers (default), onboarding, resource-bridge, ssh-admin-center, extensions, optional,
                        or all; repeat or comma-separate for several
  --endpoints FILE      JSON file: your own endpoints, wildcard hosts, scenarios, exclusions (see README)
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
  --json                one JSON document (schema ${CHECK_SCHEMA}) instead of the table
  -h, --help            this help

Exit status: 0 every required endpoint reachable, 1 a required endpoint blocked, 2 bad usage or configuration.`;

export interface CheckArgs {
  inputs: MonitorInputs;
  /** Index of the service tags file, when --service-tags is given. */
  serviceTags?: ServiceTagIndex;
  concurrency: number;
  json: boolean;
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

function positiveInt(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${n}`);
  return n;
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
        'private-range': { type: 'string', multiple: true },
        'expected-roots': { type: 'string' },
        'timeout-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'no-allowlist': { type: 'boolean' },
        'service-tags': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) throw new UsageError('');
  const cloud = (v.cloud ?? 'AzureCloud') as Cloud;
  if (!(CLOUDS as readonly string[]).includes(cloud)) {
    throw new UsageError(`--cloud must be one of ${CLOUDS.join(', ')}, got "${v.cloud}"`);
  }
  const region = (v.region ?? '').trim().toLowerCase();
  if (region !== '' && !/^[a-z0-9]+$/.test(region)) {
    throw new UsageError(`--region must be a region name such as eastus or westeurope, got "${v.region}"`);
  }
  const scenarios = (v.scenario ?? []).flatMap((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  const userConfig = v.endpoints ? parseUserConfig(await readText(v.endpoints, '--endpoints'), v.endpoints) : undefined;
  const timeoutMs = positiveInt('--timeout-ms', v['timeout-ms'], 10_000, 100, 120_000);
  const concurrency = positiveInt('--concurrency', v.concurrency, 32, 1, 1024);

  let proxy: ProxyConfig | undefined;
  try {
    const noProxy = v['no-proxy'] ?? env.NO_PROXY ?? env.no_proxy;
    proxy = v.proxy
      ? proxyFromEnv({ HTTPS_PROXY: v.proxy, NO_PROXY: noProxy })
      : proxyFromEnv({ ...env, NO_PROXY: noProxy });
  } catch (err) {
    throw new UsageError(`--proxy: ${err instanceof Error ? err.message : String(err)}`);
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
  return { inputs, concurrency, json: v.json ?? false, ...(serviceTags ? { serviceTags } : {}) };
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(`${flag}: cannot read ${file} (${code}); give the path of an existing file`);
  }
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

/**
 * Blocked endpoints that count for the exit status: everything selected except optional telemetry and rows a later
 * Microsoft page retired (still probed and shown, never a required endpoint blocked).
 */
export function requiredBlocked(report: CycleReport): number {
  return report.results.filter(
    (r) => r.result.verdict === 'blocked' && r.target.requirement !== 'optional' && !r.target.retired,
  ).length;
}

export interface CheckIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
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
      return 2;
    }
    if (err instanceof UsageError || err instanceof Error) {
      io.stderr(`arcmon: ${err.message}\n\n${CHECK_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const { inputs } = args;
  const total = prepared.expanded.targets.length + prepared.expanded.skipped.length;
  const progress = io.isTTY && !args.json;
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
  // With a service tags file, an Azure-operated name answered from outside Azure's ranges is a finding.
  const tags = args.serviceTags;
  if (tags) {
    for (const r of report.results) r.result = withAzureAddressCheck(r.target, r.result, tags);
    for (const verdict of Object.keys(report.counts) as (keyof typeof report.counts)[])
      report.counts[verdict] = report.results.filter((r) => r.result.verdict === verdict).length;
  }
  const blocked = requiredBlocked(report);
  if (args.json) {
    io.stdout(JSON.stringify(checkDocument(report, prepared.notes, inputs, args.serviceTags), null, 2) + '\n');
  } else {
    for (const note of prepared.notes) io.stdout(`note: ${note}\n`);
    io.stdout(
      renderTable(report) + '\n' + renderFixes(report, args.serviceTags) + '\n' + summaryLine(report, blocked) + '\n',
    );
  }
  return blocked > 0 ? 1 : 0;
}

/** The `--json` document (schema documented in the README). */
export function checkDocument(
  report: CycleReport,
  notes: string[],
  inputs: MonitorInputs,
  serviceTags?: ServiceTagIndex,
) {
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
    summary: { ...report.counts, total: report.results.length, requiredBlocked: requiredBlocked(report) },
    ...(serviceTags ? { serviceTags: { changeNumber: serviceTags.changeNumber, cloud: serviceTags.cloud } } : {}),
    results: report.results.map((r) => {
      const addressTags = serviceTags ? tagsOfAddresses(r.result, serviceTags) : undefined;
      const fix = fixFor(
        { ...r.target, cloud: report.cloud, addressTags: addressTags && uniqueTags(addressTags) },
        r.result,
      );
      return { target: r.target, ...r.result, ...(addressTags ? { addressTags } : {}), ...(fix ? { fix } : {}) };
    }),
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
