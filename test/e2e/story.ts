/**
 * Scenarios read as stories: a network change, then what the CLI says and what the monitor does over the next
 * cycles. This module runs the steps, reduces the product's outputs to comparable maps and lists, and prints the
 * `[e2e]` lines the closing note of issue 5 collects (verdicts, events, slowest cycle).
 */
import { expect } from 'vitest';
import { AVAILABILITY_PROPS, EVENTS, INCIDENT_PROPS } from '../../lib/telemetry/names';
import type { CheckRun, EndpointsConfig, MonitorHandle, Rig } from './rig';
import type { StoredIncident, TelemetryItem } from './roles/monitor';

/** Target id → `reachable`, or the verdict and the code that decided it (`blocked TCP_TIMEOUT`). */
export type VerdictMap = Record<string, string>;

/** An EndpointRegressed / EndpointRecovered event, reduced to what identifies it. */
export interface TransitionEvent {
  event: string;
  endpoint: string;
  kind: string;
  failureCode?: string;
}

/** What one step of a story produced. */
export interface StepOutcome {
  cli: CheckRun;
  /** The CLI's verdicts. */
  verdicts: VerdictMap;
  /** The monitor's availability results of the step's last cycle, in the same form. */
  availability: VerdictMap;
  /** How many availability results each of the step's cycles sent. */
  availabilityPerCycle: number[];
  /** Transition events sent during the step's cycles. */
  events: TransitionEvent[];
  /** Wall time of each monitor cycle (timer invocation, storage and telemetry flush included). */
  cycleMs: number[];
}

const describeResult = (verdict: string, code: string | undefined) => (code ? `${verdict} ${code}` : verdict);

export function verdicts(run: CheckRun): VerdictMap {
  return Object.fromEntries(run.doc.results.map((r) => [r.target.id, describeResult(r.verdict, r.failure?.code)]));
}

/** The map without its skipped targets (wildcards that stay unresolved whatever the network does). */
export function probed(map: VerdictMap): VerdictMap {
  return Object.fromEntries(Object.entries(map).filter(([, v]) => !v.startsWith('skipped')));
}

export function transitions(items: readonly TelemetryItem[]): TransitionEvent[] {
  return items
    .filter((i) => i.baseType === 'EventData' && (i.name === EVENTS.regressed || i.name === EVENTS.recovered))
    .map((i) => {
      const code = i.properties[INCIDENT_PROPS.failureCode];
      return {
        event: i.name,
        endpoint: i.properties[INCIDENT_PROPS.endpoint] ?? '?',
        kind: i.properties[INCIDENT_PROPS.kind] ?? '?',
        ...(code ? { failureCode: code } : {}),
      };
    })
    .sort((a, b) => `${a.event}${a.endpoint}${a.kind}`.localeCompare(`${b.event}${b.endpoint}${b.kind}`));
}

/** Availability results of the last cycle among `items`, as a verdict map. */
export function lastCycleAvailability(items: readonly TelemetryItem[]): VerdictMap {
  const availability = items.filter((i) => i.baseType === 'AvailabilityData');
  const lastCycle = availability.at(-1)?.properties[AVAILABILITY_PROPS.cycleId];
  return Object.fromEntries(
    availability
      .filter((i) => i.properties[AVAILABILITY_PROPS.cycleId] === lastCycle)
      .map((i) => [
        i.name,
        describeResult(i.properties[AVAILABILITY_PROPS.verdict] ?? '?', i.properties[AVAILABILITY_PROPS.failureCode]),
      ]),
  );
}

/** Availability results per cycle, in cycle order. */
export function availabilityCounts(items: readonly TelemetryItem[]): number[] {
  const counts = new Map<string, number>();
  for (const i of items.filter((t) => t.baseType === 'AvailabilityData')) {
    const cycle = i.properties[AVAILABILITY_PROPS.cycleId] ?? '?';
    counts.set(cycle, (counts.get(cycle) ?? 0) + 1);
  }
  return [...counts.values()];
}

/**
 * The monitor saw what the CLI saw: its last cycle's availability results carry the CLI's verdicts and codes, and
 * every cycle of the step reported every probed endpoint once.
 */
export function expectMonitorAgrees(step: StepOutcome): void {
  const endpoints = probed(step.verdicts);
  expect(step.availability).toEqual(endpoints);
  expect(step.availabilityPerCycle).toEqual(step.cycleMs.map(() => Object.keys(endpoints).length));
}

/** Incidents reduced to what a story expects of them, sorted. */
export function incidentSummary(rows: readonly StoredIncident[]): { targetId: string; kind: string; status: string }[] {
  return rows
    .map((r) => ({ targetId: r.targetId, kind: r.kind, status: r.status }))
    .sort((a, b) => `${a.targetId}${a.kind}`.localeCompare(`${b.targetId}${b.kind}`));
}

/** `expected` is `base` with some targets changed: the map every other target must keep. */
export function changed(base: VerdictMap, changes: VerdictMap): VerdictMap {
  for (const id of Object.keys(changes)) {
    if (!(id in base)) throw new Error(`story expects a change for ${id}, which the baseline does not probe`);
  }
  return { ...base, ...changes };
}

interface CycleRecord {
  story: string;
  step: string;
  ms: number;
  /** The first invocation of a fresh monitor process: it loads the bundle and the telemetry SDK, creates tables. */
  cold: boolean;
}
const cycleRecords: CycleRecord[] = [];

/** Prints the slowest monitor cycle over every story run in this file, and the slowest warm one. */
export function printSlowestCycle(file: string): void {
  const slowest = (records: CycleRecord[]) => [...records].sort((a, b) => b.ms - a.ms)[0];
  const all = slowest(cycleRecords);
  const warm = slowest(cycleRecords.filter((r) => !r.cold));
  const text = (r: CycleRecord | undefined) => (r ? `${r.ms} ms (${r.story} › ${r.step})` : 'none');
  console.log(
    `[e2e] ${file}: ${cycleRecords.length} monitor cycles; slowest ${text(all)}; slowest after the first (cold) ` +
      `invocation of each monitor ${text(warm)}`,
  );
}

function differences(base: VerdictMap, now: VerdictMap): string {
  const lines = Object.entries(now)
    .filter(([id, v]) => base[id] !== v)
    .map(([id, v]) => `${id} ${v}`);
  const same = Object.keys(now).length - lines.length;
  return `${lines.length ? lines.join(', ') : 'no change'}; ${same} other target(s) unchanged`;
}

export interface StoryOptions {
  /** Flags for `arcmon check` (the rig adds region, roots, timeout and the endpoints file). */
  checkArgs: string[];
  config: EndpointsConfig;
  /** App settings beyond site, region, scenarios, endpoints, roots and timeout. */
  settings?: Record<string, string>;
}

/** One scenario: the CLI and a full monitor (its own site, Azurite and ingestion server) watching the same network. */
export class Story {
  private baseline: VerdictMap | undefined;
  private cyclesRun = 0;

  private constructor(
    private readonly rig: Rig,
    readonly name: string,
    private readonly opts: StoryOptions,
    readonly monitor: MonitorHandle,
  ) {}

  static async start(rig: Rig, name: string, opts: StoryOptions): Promise<Story> {
    const site = `e2e-${name.replace(/[^A-Za-z0-9]+/g, '-')}`.slice(0, 63);
    const monitor = await rig.startMonitor({
      site,
      config: opts.config,
      ...(opts.settings ? { settings: opts.settings } : {}),
    });
    return new Story(rig, name, opts, monitor);
  }

  /**
   * Changes the network (`act`), then runs `cycles` monitor cycles and one CLI check. The CLI runs beside the first
   * cycle unless `checkAfter` (for latency stories, where a concurrent process would add noise to the timings).
   */
  async step(
    name: string,
    act: () => Promise<void>,
    cycles: number,
    opts: { checkAfter?: boolean } = {},
  ): Promise<StepOutcome> {
    await act();
    const cycleMs: number[] = [];
    let rssMiB = 0;
    const runCycles = async () => {
      for (let i = 0; i < cycles; i++) {
        const run = await this.monitor.cycle();
        cycleMs.push(run.durationMs);
        rssMiB = run.maxRssMiB;
      }
    };
    let cli: CheckRun;
    if (opts.checkAfter) {
      await runCycles();
      cli = await this.rig.check(this.opts.checkArgs, this.opts.config);
    } else {
      [cli] = await Promise.all([this.rig.check(this.opts.checkArgs, this.opts.config), runCycles()]);
    }
    const telemetry = await this.monitor.newTelemetry();
    const outcome: StepOutcome = {
      cli,
      verdicts: verdicts(cli),
      availability: lastCycleAvailability(telemetry),
      availabilityPerCycle: availabilityCounts(telemetry),
      events: transitions(telemetry),
      cycleMs,
    };
    for (const ms of cycleMs) cycleRecords.push({ story: this.name, step: name, ms, cold: this.cyclesRun++ === 0 });
    this.baseline ??= outcome.verdicts;
    const events = outcome.events.map(
      (e) => `${e.event} ${e.kind} ${e.endpoint}${e.failureCode ? ` ${e.failureCode}` : ''}`,
    );
    console.log(
      `[e2e] ${this.name} › ${name}: CLI exit ${cli.exitCode}: ${differences(this.baseline, outcome.verdicts)} | ` +
        `monitor cycles ${cycleMs.join(', ')} ms (peak RSS ${rssMiB} MiB) | events: ${events.length ? events.join('; ') : 'none'}`,
    );
    return outcome;
  }

  /** Prints and returns the incidents the monitor stored for this story's site. */
  async incidents(): Promise<ReturnType<typeof incidentSummary>> {
    const rows = await this.monitor.incidents();
    const summary = incidentSummary(rows);
    console.log(
      `[e2e] ${this.name} › incidents: ${summary.map((i) => `${i.kind} ${i.targetId} ${i.status}`).join('; ') || 'none'}`,
    );
    return summary;
  }

  async end(): Promise<void> {
    await this.monitor.stop();
  }
}
