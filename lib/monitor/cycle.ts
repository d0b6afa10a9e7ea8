import { randomBytes } from 'node:crypto';
import type { Cloud, ExpandedTargets, SkippedTarget, Target } from '../catalog/types';
import { finding, settle } from '../probes/result';
import type { ProbeContext, ProbeFn, ProbeResult, Verdict } from '../probes/types';
import type { CycleReport, TargetInfo, TargetResult } from './types';

/** Options of one cycle. */
export interface CycleOptions {
  site: string;
  cloud: Cloud;
  region: string;
  /** Targets probed at once. Default 32. */
  concurrency: number;
  /** Deadline per target, all phases included (ms). Default 10000. */
  timeoutMs: number;
  probe: ProbeFn;
  ctx: ProbeContext;
  /** Given by a retried invocation so its writes land on the same keys. Default: derived from the start time. */
  cycleId?: string;
  /** Cancels the whole cycle (Ctrl-C, host shutdown); unfinished targets end with their phase's timeout code. */
  signal?: AbortSignal;
  /** Called as each target finishes (progress display). */
  onResult?: (result: TargetResult, done: number, total: number) => void;
}

/**
 * A probe that has not settled this long after its deadline is treated as stuck: the runner answers for it, so one
 * misbehaving peer (or a probe bug) can never stall the cycle.
 */
const STUCK_GRACE_MS = 1_000;

export function targetInfo(t: Target): TargetInfo {
  return {
    id: t.id,
    host: t.host,
    port: t.port,
    transport: t.transport,
    hostPattern: t.hostPattern,
    requirement: t.requirement,
    scenarios: t.scenarios,
    agents: t.agents,
    purpose: t.purpose,
    mustBePrivate: t.mustBePrivate,
    serviceTags: t.serviceTags,
    ...(t.retired ? { retired: t.retired } : {}),
  };
}

function skippedResult(s: SkippedTarget, port: number, now: Date): TargetResult {
  const id = `${s.hostPattern}:${port}`;
  const result = settle({
    targetId: id,
    host: s.hostPattern,
    port,
    transport: 'tcp',
    findings: [finding('WILDCARD_UNRESOLVED', `${s.reason}; fix: ${s.fix}`)],
    timings: { total: 0 },
    startedAt: now.toISOString(),
  });
  return {
    target: {
      id,
      host: s.hostPattern,
      port,
      transport: 'tcp',
      hostPattern: s.hostPattern,
      requirement: s.requirement,
      scenarios: s.scenarios ?? [],
      agents: s.agents ?? [],
      purpose: s.purpose ?? s.reason,
      mustBePrivate: false,
      serviceTags: [],
      ...(s.retired ? { retired: s.retired } : {}),
    },
    result,
  };
}

function stuckResult(t: Target, startedAt: Date, timeoutMs: number): ProbeResult {
  return settle({
    targetId: t.id,
    host: t.host,
    port: t.port,
    transport: t.transport,
    findings: [finding('DEADLINE_EXCEEDED', `${t.id}: no result within the ${timeoutMs} ms deadline`)],
    timings: { total: timeoutMs + STUCK_GRACE_MS },
    startedAt: startedAt.toISOString(),
  });
}

async function probeWithDeadline(t: Target, opts: CycleOptions): Promise<ProbeResult> {
  const startedAt = opts.ctx.now();
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline;
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve(stuckResult(t, startedAt, opts.timeoutMs)), opts.timeoutMs + STUCK_GRACE_MS);
  });
  try {
    return await Promise.race([opts.probe(t, opts.ctx, signal), stuck]);
  } catch (err) {
    // A probe must not throw for network conditions; if it does, it is a bug: report it as data, loudly.
    const message = err instanceof Error ? err.message : String(err);
    return settle({
      targetId: t.id,
      host: t.host,
      port: t.port,
      transport: t.transport,
      findings: [finding('DEADLINE_EXCEEDED', `${t.id}: probe failed unexpectedly: ${message}`)],
      timings: { total: Date.now() - startedAt.getTime() },
      startedAt: startedAt.toISOString(),
    });
  } finally {
    clearTimeout(timer);
  }
}

export function newCycleId(start: Date): string {
  return `${start.toISOString()}-${randomBytes(3).toString('hex')}`;
}

export function countVerdicts(results: readonly TargetResult[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { reachable: 0, degraded: 0, blocked: 0, skipped: 0 };
  for (const r of results) counts[r.result.verdict] += 1;
  return counts;
}

/**
 * Probes every target under a concurrency bound, each with its own deadline, and reports every target — skipped
 * wildcards included — in the catalog's order.
 */
export async function runCycle(expanded: ExpandedTargets, opts: CycleOptions): Promise<CycleReport> {
  const start = opts.ctx.now();
  const total = expanded.targets.length + expanded.skipped.length;
  const results: TargetResult[] = new Array<TargetResult>(expanded.targets.length);
  let done = 0;
  let next = 0;

  const skipped = expanded.skipped.map((s) => skippedResult(s, s.port ?? 443, start));
  for (const s of skipped) opts.onResult?.(s, ++done, total);

  const worker = async (): Promise<void> => {
    while (next < expanded.targets.length) {
      const index = next++;
      const t = expanded.targets[index] as Target;
      const tr: TargetResult = { target: targetInfo(t), result: await probeWithDeadline(t, opts) };
      results[index] = tr;
      opts.onResult?.(tr, ++done, total);
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency, expanded.targets.length));
  await Promise.all(Array.from({ length: workers }, worker));

  const all = [...results, ...skipped];
  const finished = opts.ctx.now();
  return {
    cycleId: opts.cycleId ?? newCycleId(start),
    site: opts.site,
    cloud: opts.cloud,
    region: opts.region,
    startedAt: start.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - start.getTime(),
    results: all,
    counts: countVerdicts(all),
  };
}
