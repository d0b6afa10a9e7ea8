/**
 * Probe and cycle benchmark: prints figures, asserts nothing. Run alone: `npx tsx test/bench/probes.ts`.
 *
 * (a) one 500-target cycle at the default concurrency against servers that delay each handshake by 50 ms, as a
 *     ratio to its lower bound ceil(500 / C) × 50 ms;
 * (b) 30 targets that accept TCP and never speak TLS, 2 s deadline: cycle time as a ratio to the deadline;
 * (c) CPU time of one full DNS+TCP+TLS+HTTP probe against a bare `tls.connect` + raw GET, and what one `curl`
 *     per endpoint costs;
 * (d) peak RSS of a fresh process running a 1,000-target cycle.
 *
 * The endpoints of (a)–(c) live in a child process (probesChild.ts `serve`), so this process's CPU time and event
 * loop are the monitor's alone; (d) runs in a fresh child that hosts its own servers (so its RSS includes them).
 * All traffic stays on 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promises as dnsPromises } from 'node:dns';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { runCycle } from '../../lib/monitor/cycle';
import { probeTarget } from '../../lib/probes';
import type { ProbeContext } from '../../lib/probes/types';
import { BENCH_DOMAIN, HANDSHAKE_DELAY_MS, NAME_SETS, benchContext, benchNames, benchTarget } from './probesChild';
import type { ChildMessage, RssReport, ServeReady } from './probesChild';

const CHILD = fileURLToPath(new URL('probesChild.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI's default concurrency. */
const CONCURRENCY = 32;
const CYCLE_RUNS = 3;
const SILENT_TIMEOUT_MS = 2000;
const CPU_PROBES = 200;
const CPU_ROUNDS = 2;
const CPU_WARMUP = 20;
const CURL_RUNS = 50;
/** A child that has not finished by then is killed: the benchmark always ends. */
const CHILD_LIMIT_MS = 120_000;

interface Child {
  child: ChildProcess;
  first: Promise<ChildMessage>;
  exited: Promise<number | null>;
}

function startChild(mode: 'serve' | 'rss'): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], {
    cwd: REPO,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  const killer = setTimeout(() => child.kill(), CHILD_LIMIT_MS);
  void exited.then(() => clearTimeout(killer));
  const first = new Promise<ChildMessage>((resolve, reject) => {
    child.once('message', (message) => resolve(message as ChildMessage));
    void exited.then((code) => reject(new Error(`probesChild ${mode} ended (exit ${code}) without reporting`)));
  });
  return { child, first, exited };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const ms = (n: number) => `${Math.round(n)} ms`;
const ms1 = (n: number) => `${n.toFixed(2)} ms`;

function machineLine(): string {
  const cpus = os.cpus();
  const [load1] = os.loadavg();
  return (
    `machine: ${os.availableParallelism()} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}, ` +
    `${process.platform} ${process.arch}, load average ${(load1 ?? 0).toFixed(2)} at start`
  );
}

async function cycleOnce(names: string[], port: number, ctx: ProbeContext, timeoutMs: number) {
  const targets = names.map((name) => benchTarget(name, port));
  const started = performance.now();
  const cpu = process.cpuUsage();
  const report = await runCycle(
    { targets, skipped: [] },
    {
      site: 'bench',
      cloud: 'AzureCloud',
      region: 'eastus',
      concurrency: CONCURRENCY,
      timeoutMs,
      probe: probeTarget,
      ctx,
    },
  );
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000, report };
}

async function benchDelayedCycle(ready: ServeReady): Promise<string> {
  const [warmPrefix, warmCount] = NAME_SETS.warm;
  const [prefix, count] = NAME_SETS.cycle;
  await cycleOnce(
    benchNames(warmPrefix, warmCount),
    ready.ports.delayed,
    benchContext(ready.rootPem, ready.dnsServer),
    10_000,
  );
  const names = benchNames(prefix, count);
  const runs: number[] = [];
  const reachable: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < CYCLE_RUNS; i++) {
    // A fresh context per cycle, as each invocation builds one (its TLS context is built during the cycle).
    const run = await cycleOnce(names, ready.ports.delayed, benchContext(ready.rootPem, ready.dnsServer), 10_000);
    runs.push(run.ms);
    cpu.push(run.cpuMs);
    reachable.push(run.report.counts.reachable);
  }
  const bound = Math.ceil(count / CONCURRENCY) * HANDSHAKE_DELAY_MS;
  const best = Math.min(...runs);
  const mid = median(runs);
  return (
    `(a) ${count} targets × ${HANDSHAKE_DELAY_MS} ms handshake, C=${CONCURRENCY}: best ${ms(best)}, median ${ms(mid)} ` +
    `of ${CYCLE_RUNS} (after a ${warmCount}-target warm-up); lower bound ${ms(bound)}; ratio ${(best / bound).toFixed(2)} ` +
    `best, ${(mid / bound).toFixed(2)} median (goal < 2); reachable ${reachable.map((r) => `${r}/${count}`).join(', ')}; ` +
    `monitor CPU per cycle median ${ms(median(cpu))} (${ms1(median(cpu) / count)} per target)`
  );
}

async function benchSilentCycle(ready: ServeReady): Promise<string> {
  const [prefix, count] = NAME_SETS.silent;
  const run = await cycleOnce(
    benchNames(prefix, count),
    ready.ports.silent,
    benchContext(ready.rootPem, ready.dnsServer),
    SILENT_TIMEOUT_MS,
  );
  const codes = new Map<string, number>();
  for (const r of run.report.results) {
    const code = r.result.failure?.code ?? 'none';
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }
  const timeouts = codes.get('TLS_TIMEOUT') ?? 0;
  const others = [...codes].filter(([code]) => code !== 'TLS_TIMEOUT').map(([code, n]) => `${code} ×${n}`);
  return (
    `(b) ${count} silent targets (TCP accepted, TLS never starts), ${SILENT_TIMEOUT_MS} ms timeout, C=${CONCURRENCY}: ` +
    `cycle ${ms(run.ms)}; ratio ${(run.ms / SILENT_TIMEOUT_MS).toFixed(2)} (goal < 1.3); ` +
    `${timeouts}/${count} TLS_TIMEOUT${others.length > 0 ? ` (others: ${others.join(', ')})` : ''}`
  );
}

/** TLS with the test CA (context built once), one raw HTTP/1.1 GET, the status line, close. */
function bareGet(address: string, port: number, servername: string, context: tls.SecureContext): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: address, port, servername, secureContext: context }, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    });
    let head = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error(`${servername}: no answer in 10 s`)));
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end === -1) return;
      socket.destroy();
      resolve(head.slice(0, end));
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${servername}: closed before a status line`)));
  });
}

interface PerOp {
  cpuMs: number;
  wallMs: number;
  failures: number;
}

/** Runs `op` `n` times in sequence; CPU (user + system) and wall time per run. */
async function perOp(n: number, op: () => Promise<boolean>): Promise<PerOp> {
  let failures = 0;
  const wall = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) if (!(await op())) failures += 1;
  const used = process.cpuUsage(cpu);
  return { cpuMs: (used.user + used.system) / 1000 / n, wallMs: (performance.now() - wall) / n, failures };
}

const lowestCpu = (runs: PerOp[]): PerOp => runs.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a), runs[0] as PerOp);

function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

/** cutime + cstime of this process (clock ticks): CPU of the children it has reaped. Undefined without /proc. */
async function reapedChildrenTicks(): Promise<number | undefined> {
  try {
    const stat = await readFile('/proc/self/stat', 'utf8');
    // Fields after the command name (which may hold spaces); the first of them is field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16 - 3]) + Number(fields[17 - 3]);
  } catch {
    return undefined;
  }
}

function runCurl(args: string[]): Promise<{ exit: number | null; out: string; missing: boolean }> {
  return new Promise((resolve) => {
    // No proxy variables and -q (no .curlrc): curl goes straight to 127.0.0.1 whatever the environment says.
    const child = spawn('curl', ['-q', ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ exit: null, out, missing: error.code === 'ENOENT' }),
    );
    child.once('close', (exit) => resolve({ exit, out, missing: false }));
  });
}

async function benchCurl(ready: ServeReady, dir: string, probeCpuMs: number): Promise<string> {
  const version = await runCurl(['--version']);
  if (version.missing || version.exit !== 0) return '(c) curl per endpoint: curl is not installed here; not measured';
  const caFile = join(dir, 'root.pem');
  await writeFile(caFile, ready.rootPem);
  const name = benchNames(NAME_SETS.cpu[0], 1)[0] as string;
  const port = ready.ports.plain;
  const args = [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--noproxy',
    '*',
    '--max-time',
    '10',
    '--cacert',
    caFile,
    '--resolve',
    `${name}:${port}:127.0.0.1`,
    `https://${name}:${port}/`,
  ];
  await runCurl(args);
  const ticks = clockTicksPerSecond();
  const before = await reapedChildrenTicks();
  let failures = 0;
  const wall = performance.now();
  for (let i = 0; i < CURL_RUNS; i++) {
    const r = await runCurl(args);
    if (r.exit !== 0 || r.out !== '200') failures += 1;
  }
  const wallMs = (performance.now() - wall) / CURL_RUNS;
  const after = await reapedChildrenTicks();
  const curlName = version.out.split(/\s+/).slice(0, 2).join(' ');
  if (before === undefined || after === undefined) {
    return `(c) curl per endpoint (${curlName}, N'=${CURL_RUNS}): ${ms1(wallMs)} wall per run; CPU not measured (no /proc/self/stat)`;
  }
  const cpuMs = ((after - before) * 1000) / ticks / CURL_RUNS;
  return (
    `(c) curl per endpoint (${curlName}, spawned ${CURL_RUNS}×, --resolve, no DNS): ${ms1(cpuMs)} CPU ` +
    `(children's cutime+cstime at ${ticks} ticks/s), ${ms1(wallMs)} wall per run; ` +
    `${(cpuMs / probeCpuMs).toFixed(1)}× our probe's CPU; ${failures} failed`
  );
}

async function benchCpu(ready: ServeReady, dir: string): Promise<string[]> {
  const ctx = benchContext(ready.rootPem, ready.dnsServer);
  const name = benchNames(NAME_SETS.cpu[0], 1)[0] as string;
  const port = ready.ports.plain;
  const target = benchTarget(name, port);
  const context = tls.createSecureContext({ ca: ready.rootPem });
  const [dnsIp = '127.0.0.1', dnsPort = '53'] = ready.dnsServer.split(':');

  const probe = async () => (await probeTarget(target, ctx, AbortSignal.timeout(10_000))).verdict === 'reachable';
  const bare = async () => (await bareGet('127.0.0.1', port, name, context)).startsWith('HTTP/1.1 200');
  // The bare work plus the same two DNS questions the probe asks (A and AAAA, in parallel, fresh c-ares channel).
  const bareWithDns = async () => {
    const resolver = new dnsPromises.Resolver({ timeout: 2500, tries: 2 });
    resolver.setServers([`${dnsIp}:${dnsPort}`]);
    const [v4] = await Promise.all([resolver.resolve4(name), resolver.resolve6(name).catch(() => [])]);
    return (await bareGet(v4[0] ?? '127.0.0.1', port, name, context)).startsWith('HTTP/1.1 200');
  };

  await perOp(CPU_WARMUP, probe);
  await perOp(CPU_WARMUP, bare);
  await perOp(CPU_WARMUP, bareWithDns);
  const runs = { probe: [] as PerOp[], bare: [] as PerOp[], bareWithDns: [] as PerOp[] };
  for (let round = 0; round < CPU_ROUNDS; round++) {
    runs.probe.push(await perOp(CPU_PROBES, probe));
    runs.bare.push(await perOp(CPU_PROBES, bare));
    runs.bareWithDns.push(await perOp(CPU_PROBES, bareWithDns));
  }
  const p = lowestCpu(runs.probe);
  const b = lowestCpu(runs.bare);
  const d = lowestCpu(runs.bareWithDns);
  const failed = [...runs.probe, ...runs.bare, ...runs.bareWithDns].reduce((n, r) => n + r.failures, 0);
  return [
    `(c) CPU per probe, sequential, N=${CPU_PROBES} (best of ${CPU_ROUNDS} rounds, process.cpuUsage user+system): ` +
      `probeTarget DNS+TCP+TLS+HTTP ${ms1(p.cpuMs)}; bare tls.connect + raw GET ${ms1(b.cpuMs)}; ` +
      `ratio ${(p.cpuMs / b.cpuMs).toFixed(2)} (goal < 1.5)`,
    `(c) beside it: bare + the same A/AAAA queries ${ms1(d.cpuMs)} (probe/that ${(p.cpuMs / d.cpuMs).toFixed(2)}); ` +
      `wall per probe ${ms1(p.wallMs)} vs bare ${ms1(b.wallMs)}; ${failed} failed of ${
        3 * CPU_ROUNDS * CPU_PROBES
      } (endpoint: ${BENCH_DOMAIN} TLS server on 127.0.0.1, another process)`,
    await benchCurl(ready, dir, p.cpuMs),
  ];
}

async function benchRss(): Promise<string> {
  const rss = startChild('rss');
  const message = await rss.first;
  await rss.exited;
  if (message.kind !== 'rss') throw new Error(`probesChild rss sent ${message.kind}`);
  const r: RssReport = message;
  return (
    `(d) ${r.targets.toLocaleString('en-US')}-target cycle in a fresh process, C=${CONCURRENCY}, its own loopback ` +
    `servers included: peak RSS ${r.maxRssAfterMb.toFixed(0)} MB (goal < 200 MB); before the cycle RSS ` +
    `${r.rssBeforeMb.toFixed(0)} MB (peak so far ${r.maxRssBeforeMb.toFixed(0)} MB); cycle ${ms(r.cycleMs)}, ` +
    `${r.reachable}/${r.targets} reachable`
  );
}

/** Runs (a)–(d) and returns one line per figure, machine facts first. Takes about half a minute on 2 cores. */
export async function benchProbes(): Promise<{ lines: string[] }> {
  const lines = [machineLine()];
  const dir = await mkdtemp(join(os.tmpdir(), 'arcmon-bench-probes-'));
  const serving = startChild('serve');
  try {
    const ready = await serving.first;
    if (ready.kind !== 'ready') throw new Error(`probesChild serve sent ${ready.kind}`);
    lines.push(await benchDelayedCycle(ready));
    lines.push(await benchSilentCycle(ready));
    lines.push(...(await benchCpu(ready, dir)));
  } finally {
    if (serving.child.connected) serving.child.send('stop');
    await serving.exited;
    await rm(dir, { recursive: true, force: true });
  }
  lines.push(await benchRss());
  return { lines };
}

if (process.argv[1] && /bench[\\/]probes\.ts$/.test(process.argv[1])) {
  benchProbes().then(
    ({ lines }) => console.log(lines.join('\n')),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
