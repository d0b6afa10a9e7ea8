/**
 * The rig: a simulated customer network built from Linux network namespaces, in which the real product runs.
 *
 * - `mon` — the customer's VNet: the monitor (CLI runs, and an agent calling the timer handler with Azurite and a
 *   local Application Insights ingestion server on its own loopback). Its resolv.conf names the gateway.
 * - `gw` — router and firewall (nftables; forwarding on) with the DNS forwarder, explicit proxy, a broken proxy and
 *   a TLS-inspecting proxy.
 * - `net` — the internet: fake Azure endpoints on port 443 of their own addresses, the time server on UDP 123, and
 *   hostile peers.
 *
 * Names are unique per run (`arcmon-<pid>-<n>-<role>`); everything is torn down by {@link Rig.close}, by process exit
 * handlers when a test run dies, and by the next run for namespaces whose process is gone.
 * See test/e2e/README.md for the picture and how to add a scenario.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe } from 'vitest';
import type { checkDocument } from '../../lib/cli/check';
import { createAzureLikePki, createIntermediate, createLeaf, createRoot, type Issued } from '../helpers/pki';
import { spawnAgent } from './ipc';
import {
  RIG_PREFIX,
  capture,
  createNamespace,
  destroyNamespaceSync,
  execIn,
  ipIn,
  replaceTables,
  rigSupport,
  run,
  sweepStaleRigs,
  writeResolvConf,
} from './netns';
import type { GatewayInit, GatewayOps, GatewayStats, ProxyMode } from './roles/gateway';
import type { InternetInit, InternetOps, InternetStats, SiteInit } from './roles/internet';
import type { CycleRun, MonitorInit, MonitorOps, StoredIncident, TelemetryItem } from './roles/monitor';
import { PLAN, REGION, buildWorld, hostNamed, type ExtraHost, type FakeHost } from './world';
import type { ZoneRecord } from './zoneDns';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = join(REPO_ROOT, 'test', 'e2e', 'agent.ts');
/** The built product under test; ARCMON_E2E_DIST points elsewhere (e.g. a bundle built outside the tree). */
const DIST = process.env.ARCMON_E2E_DIST ?? join(REPO_ROOT, 'dist');
const CLI = join(DIST, 'cli.js');
const FUNCTIONS = join(DIST, 'functions', 'index.js');

/** Per-probe deadline every scenario uses: short, so a dropped packet costs 1.5 s, not 10. */
export const TIMEOUT_MS = 1500;

/** The CA the customer's firewall re-signs inspected traffic with (trusted on the monitor, as customers deploy it). */
export const INSPECTION_CA = 'Contoso Firewall TLS Inspection CA';
/** The customer's root above {@link INSPECTION_CA}. */
export const INSPECTION_ROOT = 'Contoso Enterprise Root CA';
/** Credentials the explicit proxy accepts when it demands authentication. */
export const PROXY_CREDENTIALS = 'arcmon:edge-secret';

export type CheckDocument = ReturnType<typeof checkDocument>;
export type CheckResult = CheckDocument['results'][number];

/** One `arcmon check` run inside the monitor namespace. */
export interface CheckRun {
  exitCode: number;
  doc: CheckDocument;
  stderr: string;
  wallMs: number;
  /** Peak resident memory of the CLI process, MiB. */
  maxRssMiB: number;
  /** Result per target id. */
  byId: Map<string, CheckResult>;
}

/** The endpoints file the CLI (`--endpoints`) and the monitor (ARCMON_ENDPOINTS_JSON) read. */
export interface EndpointsConfig {
  version: 1;
  scenarios?: string[];
  wildcards?: Record<string, unknown>;
  endpoints?: Record<string, unknown>[];
  exclude?: string[];
}

/** The full monitor of one site: the timer handler with real Azurite and the ingestion server. */
export interface MonitorHandle {
  readonly site: string;
  /** Runs one timer invocation; throws when the handler threw. */
  cycle(): Promise<CycleRun>;
  incidents(): Promise<StoredIncident[]>;
  /** Latency baseline and last total (ms) the monitor keeps for one endpoint. */
  latency(targetId: string): Promise<{ baselineMs?: number; lastMs?: number }>;
  /** Telemetry sent since the previous call, waiting until every cycle so far has sent its heartbeat. */
  newTelemetry(): Promise<TelemetryItem[]>;
  strayRequests(): Promise<string[]>;
  stop(): Promise<void>;
}

export interface MonitorOptions {
  site: string;
  config: EndpointsConfig;
  /** Other app settings (ARCMON_PRIVATE_LINK, ARCMON_PROXY, ...). */
  settings?: Record<string, string>;
}

export interface RigOptions {
  /** Hosts beyond the catalog, e.g. hostile peers. */
  extras?: ExtraHost[];
  /** Serve `host` with a certificate chain of this many intermediates. */
  hugeChain?: { host: string; intermediates: number };
  /** Zone records beyond the world's (hostile DNS answers). */
  records?: Record<string, ZoneRecord>;
}

interface FirewallState {
  drop: Set<string>;
  reject: Set<string>;
  blockedUdpPorts: Set<number>;
  directEgress: boolean;
  inspect: Set<string>;
}

export interface Rig {
  readonly names: { monitor: string; gateway: string; internet: string };
  readonly world: readonly FakeHost[];
  readonly files: { dir: string; expectedRoots: string; extraCa: string };
  /** `http://10.10.0.1:3128` */
  readonly proxyUrl: string;
  /** A proxy that answers garbage. */
  readonly garbageProxyUrl: string;
  host(name: string): FakeHost;
  firewall: {
    /** Silently drops TCP 443 to these hosts (both their addresses). */
    drop(hosts: string[]): Promise<void>;
    /** Rejects TCP 443 to these hosts with a TCP reset. */
    reject(hosts: string[]): Promise<void>;
    /** Lets these hosts through again. */
    allow(hosts: string[]): Promise<void>;
    blockUdp(port: number): Promise<void>;
    unblockUdp(port: number): Promise<void>;
    /** false: the monitor's VNet may reach 443 only through the proxy. */
    directEgress(allowed: boolean): Promise<void>;
  };
  dns: {
    /** On: the forwarder holds the private-link zones (private answers). Off: it forwards them (public answers). */
    privateLinkZone(on: boolean): Promise<void>;
    set(records: Record<string, ZoneRecord | null>): Promise<void>;
  };
  /** Transparent TLS inspection (DNAT to the inspecting proxy) for these hosts. */
  inspect(hosts: string[], on: boolean): Promise<void>;
  proxyMode(mode: ProxyMode): Promise<void>;
  latency(host: string, ms: number): Promise<void>;
  internetStats(): Promise<InternetStats>;
  /**
   * Addresses outside the rig's world that anything in the monitor's VNet sent packets to (seen by the router
   * before routing, so also what it could not route). Empty when the product calls only what it should.
   */
  strayDestinations(): Promise<string[]>;
  gatewayStats(): Promise<GatewayStats>;
  /** `arcmon check --json` in the monitor namespace, with the rig's region, roots and timeout. */
  check(args: string[], config?: EndpointsConfig): Promise<CheckRun>;
  startMonitor(opts: MonitorOptions): Promise<MonitorHandle>;
  /** Back to a healthy network: firewall open, public DNS, proxy open, no inspection, no latency. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * `describe` for suites that need the rig. Where the machine cannot build it (no namespaces, not root, no nft) the
 * suite is skipped with the reason printed — unless `CI` is set: there it fails, so CI never skips silently.
 */
export function describeWithRig(title: string, body: () => void): void {
  const support = rigSupport();
  if (!support.ok && !process.env.CI) {
    console.warn(`[e2e] skipping "${title}": ${support.reason}`);
    describe.skip(title, body);
    return;
  }
  describe(title, () => {
    beforeAll(() => {
      if (!support.ok) throw new Error(`CI must run the e2e rig, but: ${support.reason}`);
    });
    body();
  });
}

const live = new Set<{ namespaces: string[]; dir: string }>();
let handlersInstalled = false;

function teardownSync(entry: { namespaces: string[]; dir: string }): void {
  for (const ns of entry.namespaces) destroyNamespaceSync(ns);
  rmSync(entry.dir, { recursive: true, force: true });
  live.delete(entry);
}

/** A test run that dies (exit, Ctrl-C, vitest killing its worker) still removes its namespaces. */
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const entry of [...live]) teardownSync(entry);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      for (const entry of [...live]) teardownSync(entry);
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let rigCount = 0;

function pem(...certs: Issued[]): string {
  return certs.map((c) => c.certPem.trim()).join('\n') + '\n';
}

/** Warns when the bundle under test is older than the sources: the rig runs dist/, as users do. */
function checkBuild(): void {
  for (const file of [CLI, FUNCTIONS]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: the rig runs the built product; run \`npm run build\` first`);
    }
  }
  const built = statSync(CLI).mtimeMs;
  const newer = ['lib', 'functions']
    .flatMap((dir) => {
      try {
        return readdirRecursive(join(REPO_ROOT, dir));
      } catch {
        return [];
      }
    })
    .filter((f) => f.endsWith('.ts') && statSync(f).mtimeMs > built);
  if (newer.length > 0) {
    console.warn(`[e2e] dist/ is older than ${newer.length} source file(s) (e.g. ${newer[0]}): run \`npm run build\``);
  }
}

function readdirRecursive(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? readdirRecursive(join(dir, d.name)) : [join(dir, d.name)],
  );
}

/** Builds the whole rig: namespaces, links, routes, firewall, certificates, and the agents serving them. */
export async function createRig(opts: RigOptions = {}): Promise<Rig> {
  checkBuild();
  sweepStaleRigs();
  installExitHandlers();
  const id = `${RIG_PREFIX}${process.pid}-${++rigCount}`;
  const names = { monitor: `${id}-mon`, gateway: `${id}-gw`, internet: `${id}-net` };
  const dir = mkdtempSync(join(tmpdir(), `arcmon-rig-${process.pid}-`));
  const entry = { namespaces: [names.monitor, names.gateway, names.internet], dir };
  live.add(entry);
  const agents: { stop(graceMs?: number): Promise<void> }[] = [];

  try {
    const world = buildWorld(opts.extras);
    const [pki] = await Promise.all([makePki(world, opts.hugeChain), buildNetwork(names, world)]);
    const files = {
      dir,
      expectedRoots: join(dir, 'expected-roots.pem'),
      extraCa: join(dir, 'extra-ca.pem'),
      rssPreload: join(dir, 'rss.cjs'),
    };
    writeFileSync(files.expectedRoots, pem(pki.azure.root));
    writeFileSync(files.extraCa, pem(pki.azure.root, pki.inspectionRoot, pki.ingestionRoot));
    writeFileSync(
      files.rssPreload,
      "process.on('exit', () => { try { require('node:fs').writeFileSync(process.env.ARCMON_E2E_RSS_FILE, " +
        'String(process.resourceUsage().maxRSS)); } catch { /* best effort */ } });\n',
    );
    writeResolvConf(names.monitor, PLAN.gateway);

    const fw: FirewallState = {
      drop: new Set(),
      reject: new Set(),
      blockedUdpPorts: new Set(),
      directEgress: true,
      inspect: new Set(),
    };
    const applyFirewall = () => replaceTables(names.gateway, FIREWALL_TABLES, firewallRuleset(fw));
    await execIn(names.gateway, 'nft', ['-f', '-'], AUDIT_RULESET);
    await applyFirewall();

    const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
    const agentCommand = (role: string) => [process.execPath, '--import', 'tsx', AGENT, role];
    const zone = defaultZone(world, opts.records);
    const sites: SiteInit[] = world.map((h) => ({
      name: h.name,
      addresses: [h.publicAddress, ...(h.privateAddress ? [h.privateAddress] : [])],
      status: h.status,
      behaviour: h.behaviour,
      protocol: h.protocol,
      ...(pki.leaves.get(h.name) ?? {}),
    }));
    const [internet, gateway] = await Promise.all([
      spawnAgent<InternetOps>({
        namespace: names.internet,
        role: 'internet',
        command: agentCommand('internet'),
        env: baseEnv,
        cwd: REPO_ROOT,
        init: { sites } satisfies InternetInit,
      }),
      spawnAgent<GatewayOps>({
        namespace: names.gateway,
        role: 'gateway',
        command: agentCommand('gateway'),
        env: baseEnv,
        cwd: REPO_ROOT,
        init: {
          listen: PLAN.gateway,
          dnsPort: PLAN.dnsPort,
          proxyPort: PLAN.proxyPort,
          garbageProxyPort: PLAN.garbageProxyPort,
          inspectorPort: PLAN.inspectorPort,
          zone,
          inspection: Object.fromEntries(pki.inspectionLeaves),
          upstreamCaPem: pki.azure.root.certPem,
          proxyCredentials: PROXY_CREDENTIALS,
        } satisfies GatewayInit,
      }),
    ]);
    agents.push(internet, gateway);

    const addressesOf = (hosts: string[]) =>
      hosts.flatMap((name) => {
        const h = hostNamed(world, name);
        return [h.publicAddress, ...(h.privateAddress ? [h.privateAddress] : [])];
      });
    const privateLinkRecords = (on: boolean): Record<string, ZoneRecord> =>
      Object.fromEntries(
        world
          .filter((h) => h.privateLinkName && h.privateAddress)
          .map((h) => [h.privateLinkName as string, { A: [on ? (h.privateAddress as string) : h.publicAddress] }]),
      );

    let runs = 0;
    const check = async (args: string[], config?: EndpointsConfig): Promise<CheckRun> => {
      const n = ++runs;
      const rssFile = join(dir, `rss-${n}.txt`);
      const extra: string[] = [];
      if (config) {
        const file = join(dir, `endpoints-check-${n}.json`);
        writeFileSync(file, JSON.stringify(config, null, 2));
        extra.push('--endpoints', file);
      }
      const argv = [
        CLI,
        'check',
        '--json',
        '--region',
        REGION,
        '--expected-roots',
        files.expectedRoots,
        '--timeout-ms',
        String(TIMEOUT_MS),
        ...extra,
        ...args,
      ];
      const started = performance.now();
      const { code, stdout, stderr } = await capture(
        'ip',
        ['netns', 'exec', names.monitor, process.execPath, ...argv],
        {
          cwd: REPO_ROOT,
          env: {
            ...baseEnv,
            NODE_EXTRA_CA_CERTS: files.extraCa,
            NODE_OPTIONS: `--require ${files.rssPreload}`,
            ARCMON_E2E_RSS_FILE: rssFile,
          },
        },
      );
      const wallMs = Math.round(performance.now() - started);
      let doc: CheckDocument;
      try {
        doc = JSON.parse(stdout) as CheckDocument;
      } catch {
        throw new Error(`arcmon check ${args.join(' ')} printed no JSON (exit ${code}):\n${stderr}\n${stdout}`);
      }
      const maxRssKiB = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN;
      return {
        exitCode: code,
        doc,
        stderr,
        wallMs,
        maxRssMiB: Math.round(maxRssKiB / 1024),
        byId: new Map(doc.results.map((r) => [r.target.id, r])),
      };
    };

    const rig: Rig = {
      names,
      world,
      files: { dir, expectedRoots: files.expectedRoots, extraCa: files.extraCa },
      proxyUrl: `http://${PLAN.gateway}:${PLAN.proxyPort}`,
      garbageProxyUrl: `http://${PLAN.gateway}:${PLAN.garbageProxyPort}`,
      host: (name) => hostNamed(world, name),
      firewall: {
        async drop(hosts) {
          for (const a of addressesOf(hosts)) {
            fw.reject.delete(a);
            fw.drop.add(a);
          }
          await applyFirewall();
        },
        async reject(hosts) {
          for (const a of addressesOf(hosts)) {
            fw.drop.delete(a);
            fw.reject.add(a);
          }
          await applyFirewall();
        },
        async allow(hosts) {
          for (const a of addressesOf(hosts)) {
            fw.drop.delete(a);
            fw.reject.delete(a);
          }
          await applyFirewall();
        },
        async blockUdp(port) {
          fw.blockedUdpPorts.add(port);
          await applyFirewall();
        },
        async unblockUdp(port) {
          fw.blockedUdpPorts.delete(port);
          await applyFirewall();
        },
        async directEgress(allowed) {
          fw.directEgress = allowed;
          await applyFirewall();
        },
      },
      dns: {
        privateLinkZone: (on) => gateway.call('setRecords', { records: privateLinkRecords(on) }),
        set: (records) => gateway.call('setRecords', { records }),
      },
      async inspect(hosts, on) {
        for (const name of hosts) {
          const h = hostNamed(world, name);
          for (const a of [h.publicAddress, ...(h.privateAddress ? [h.privateAddress] : [])]) {
            if (on) fw.inspect.add(a);
            else fw.inspect.delete(a);
          }
        }
        await applyFirewall();
      },
      proxyMode: (mode) => gateway.call('setProxyMode', { mode }),
      latency: (host, ms) => internet.call('setLatency', { host, ms }),
      internetStats: () => internet.call('stats', null),
      async strayDestinations() {
        const listing = await execIn(names.gateway, 'nft', ['list', 'set', 'inet', 'arcmon_audit', 'stray']);
        const elements = /elements = \{([^}]*)\}/.exec(listing)?.[1] ?? '';
        return elements
          .split(',')
          .map((e) => e.trim().split(/\s/)[0] ?? '')
          .filter(Boolean);
      },
      gatewayStats: () => gateway.call('stats', null),
      check,
      async startMonitor(mopts) {
        // Its own temporary directory: the store's spool and Azurite's workspace stay with this monitor.
        const tmp = join(dir, `monitor-${++runs}`);
        mkdirSync(tmp);
        const agent = await spawnAgent<MonitorOps>({
          namespace: names.monitor,
          role: 'monitor',
          command: agentCommand('monitor'),
          env: { ...baseEnv, NODE_EXTRA_CA_CERTS: files.extraCa, TMPDIR: tmp },
          cwd: REPO_ROOT,
          init: {
            functionsBundle: FUNCTIONS,
            ingestionTls: { certPem: pki.ingestionLeaf.certPem, keyPem: pki.ingestionLeaf.keyPem },
          } satisfies MonitorInit,
        });
        agents.push(agent);
        const settings: Record<string, string> = {
          ARCMON_SITE: mopts.site,
          ARCMON_REGION: REGION,
          ARCMON_SCENARIOS: (mopts.config.scenarios ?? ['servers']).join(','),
          ARCMON_ENDPOINTS_JSON: JSON.stringify(mopts.config),
          ARCMON_EXPECTED_ROOTS_PEM: pem(pki.azure.root),
          ARCMON_TIMEOUT_MS: String(TIMEOUT_MS),
          ...mopts.settings,
        };
        let cycles = 0;
        let next = 0;
        return {
          site: mopts.site,
          async cycle() {
            const result = await agent.call('cycle', { settings });
            if (result.error) throw new Error(`probeCycle threw: ${result.error}\n${result.logs.join('\n')}`);
            cycles++;
            return result;
          },
          incidents: () => agent.call('incidents', { site: mopts.site }),
          latency: (targetId) => agent.call('latency', { site: mopts.site, targetId }),
          async newTelemetry() {
            const got = await agent.call('telemetry', { from: next, cycles });
            next = got.next;
            return got.items;
          },
          strayRequests: () => agent.call('strayRequests', null),
          stop: () => agent.stop(),
        };
      },
      async reset() {
        fw.drop.clear();
        fw.reject.clear();
        fw.blockedUdpPorts.clear();
        fw.inspect.clear();
        fw.directEgress = true;
        await Promise.all([
          applyFirewall(),
          gateway.call('setRecords', { records: privateLinkRecords(false) }),
          gateway.call('setProxyMode', { mode: 'open' }),
          internet.call('reset', null),
        ]);
      },
      async close() {
        await Promise.allSettled(agents.map((a) => a.stop(3000)));
        teardownSync(entry);
      },
    };
    return rig;
  } catch (err) {
    await Promise.allSettled(agents.map((a) => a.stop(1000)));
    teardownSync(entry);
    throw err;
  }
}

/** Links, addresses and routes. Nothing is created in the host's namespace and no route leads out of the rig. */
async function buildNetwork(names: Rig['names'], world: readonly FakeHost[]): Promise<void> {
  await Promise.all([createNamespace(names.monitor), createNamespace(names.gateway), createNamespace(names.internet)]);
  await ipIn(names.monitor, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan0', 'netns', names.gateway);
  await ipIn(names.gateway, 'link', 'add', 'wan0', 'type', 'veth', 'peer', 'name', 'wan0', 'netns', names.internet);
  const batch = (ns: string, lines: string[]) => run('ip', ['-n', ns, '-batch', '-'], lines.join('\n') + '\n');
  await Promise.all([
    batch(names.monitor, [
      `addr add ${PLAN.monitor}/${PLAN.lanPrefixLength} dev lan0`,
      'link set lan0 up',
      `route add default via ${PLAN.gateway}`,
    ]),
    batch(names.gateway, [
      `addr add ${PLAN.gateway}/${PLAN.lanPrefixLength} dev lan0`,
      `addr add ${PLAN.gatewayWan}/${PLAN.wanPrefixLength} dev wan0`,
      'link set lan0 up',
      'link set wan0 up',
      `route add ${PLAN.publicRange} via ${PLAN.internetWan}`,
      `route add ${PLAN.blackholeRange} via ${PLAN.internetWan}`,
      `route add ${PLAN.privateRange} via ${PLAN.internetWan}`,
    ]),
    batch(names.internet, [
      `addr add ${PLAN.internetWan}/${PLAN.wanPrefixLength} dev wan0`,
      'link set wan0 up',
      `route add ${PLAN.lan} via ${PLAN.gatewayWan}`,
      ...world.flatMap((h) => [
        `addr add ${h.publicAddress}/32 dev lo`,
        ...(h.privateAddress ? [`addr add ${h.privateAddress}/32 dev lo`] : []),
      ]),
    ]),
  ]);
  // /proc/sys/net is per namespace: this turns forwarding on in the router only.
  await execIn(names.gateway, 'sh', ['-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
}

const FIREWALL_TABLES = ['inet arcmon_firewall', 'ip arcmon_inspection'];

/**
 * Written once and never replaced: remembers every destination outside the world that the monitor's VNet sent a
 * packet to (the router sees it in prerouting, before it finds no route for it).
 */
const AUDIT_RULESET = `table inet arcmon_audit {
  set stray {
    type ipv4_addr
    flags dynamic
    size 4096
  }
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname "lan0" ip daddr != { ${PLAN.publicRange}, ${PLAN.blackholeRange}, ${PLAN.privateRange}, ${PLAN.gateway} } add @stray { ip daddr }
  }
}
`;

/** The gateway's nftables ruleset for a firewall state: one atomic transaction per change. */
export function firewallRuleset(fw: FirewallState): string {
  const set = (values: Iterable<string>) => `{ ${[...values].join(', ')} }`;
  const filter = [
    `ip daddr ${PLAN.blackholeRange} drop`,
    ...(fw.drop.size ? [`ip daddr ${set(fw.drop)} tcp dport 443 drop`] : []),
    ...(fw.reject.size ? [`ip daddr ${set(fw.reject)} tcp dport 443 reject with tcp reset`] : []),
    ...(fw.blockedUdpPorts.size
      ? [`ip saddr ${PLAN.lan} udp dport ${set([...fw.blockedUdpPorts].map(String))} drop`]
      : []),
    ...(fw.directEgress ? [] : [`ip saddr ${PLAN.lan} tcp dport 443 drop`]),
  ];
  const nat = fw.inspect.size
    ? [`ip daddr ${set(fw.inspect)} tcp dport 443 dnat to ${PLAN.gateway}:${PLAN.inspectorPort}`]
    : [];
  return [
    'table inet arcmon_firewall {',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...filter.map((r) => `    ${r}`),
    '  }',
    '}',
    'table ip arcmon_inspection {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    ...nat.map((r) => `    ${r}`),
    '  }',
    '}',
  ].join('\n');
}

/** The forwarder's zone: every host's A record; private-link hosts CNAME to their `privatelink.` name. */
function defaultZone(world: readonly FakeHost[], extra: Record<string, ZoneRecord> = {}): Record<string, ZoneRecord> {
  const zone: Record<string, ZoneRecord> = {};
  for (const h of world) {
    if (h.privateLinkName) {
      zone[h.name] = { CNAME: h.privateLinkName };
      zone[h.privateLinkName] = { A: [h.publicAddress] };
    } else {
      zone[h.name] = { A: [h.publicAddress] };
    }
  }
  return { ...zone, ...extra };
}

interface RigPki {
  azure: { root: Issued; intermediate: Issued };
  inspectionRoot: Issued;
  ingestionRoot: Issued;
  ingestionLeaf: Issued;
  /** Per https host: key and chain (leaf, intermediates) signed under the Azure-like root. */
  leaves: Map<string, { keyPem: string; chainPem: string }>;
  /** Per https host: what the inspecting proxy presents. */
  inspectionLeaves: Map<string, { keyPem: string; chainPem: string }>;
}

/** Every certificate the rig needs, generated in-process (test/helpers/pki.ts). */
async function makePki(world: readonly FakeHost[], hugeChain?: RigOptions['hugeChain']): Promise<RigPki> {
  const azure = await createAzureLikePki();
  const inspectionRoot = await createRoot(INSPECTION_ROOT);
  const inspectionCa = await createIntermediate(inspectionRoot, INSPECTION_CA);
  const ingestionRoot = await createRoot('arcmon rig ingestion CA');
  const ingestionLeaf = await createLeaf(ingestionRoot, ['127.0.0.1', 'localhost']);
  const leaves = new Map<string, { keyPem: string; chainPem: string }>();
  const inspectionLeaves = new Map<string, { keyPem: string; chainPem: string }>();
  for (const h of world.filter((w) => w.protocol === 'https')) {
    const [leaf, inspected] = await Promise.all([
      createLeaf(azure.intermediate, [h.name]),
      createLeaf(inspectionCa, [h.name]),
    ]);
    leaves.set(h.name, { keyPem: leaf.keyPem, chainPem: pem(leaf, azure.intermediate) });
    inspectionLeaves.set(h.name, { keyPem: inspected.keyPem, chainPem: pem(inspected, inspectionCa) });
  }
  if (hugeChain) {
    const links: Issued[] = [];
    let issuer = azure.intermediate;
    for (let i = 1; i <= hugeChain.intermediates; i++) {
      issuer = await createIntermediate(issuer, `arcmon Test Chain Link ${i}`);
      links.unshift(issuer);
    }
    const leaf = await createLeaf(issuer, [hugeChain.host]);
    leaves.set(hugeChain.host, { keyPem: leaf.keyPem, chainPem: pem(leaf, ...links, azure.intermediate) });
  }
  return { azure, inspectionRoot, ingestionRoot, ingestionLeaf, leaves, inspectionLeaves };
}
