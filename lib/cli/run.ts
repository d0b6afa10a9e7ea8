import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSettings, SettingsError, type Settings } from '../config/settings';
import { ConfigError } from '../catalog';
import { createDeps } from '../monitor/deps';
import { inputsFromSettings, regressionConfigFromSettings } from '../monitor/fromSettings';
import { cycleSummary, runMonitorCycle, transitionLines } from '../monitor/monitor';
import { readExtraCa, readOsCaBundle } from '../monitor/setup';
import { startAzurite, type AzuriteHandle } from '../store/azurite';
import { EXIT, readExpectedRoots, type CheckIo } from './check';
import { defaultDataDir, siteDir } from './dataDir';
import { parseListen, startStatusServer } from './statusServer';
import { parseCloud, parseProxy, parseRegion, readEndpointsFile, UsageError, wholeNumber } from './options';

export const RUN_USAGE = `Usage: arcmon run [options]

Runs the monitor here on its schedule (first cycle at once): probes, stores history, state and incidents in Table
Storage, reports to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set. Without storage settings
it runs an embedded Azurite whose data, like the outage spool, is kept per site under the data directory, so history
survives restarts. Ctrl-C finishes the cycle under way, stores it, stops Azurite and exits 130.

Every ARCMON_* app setting of the Functions app is read from the environment (see README); flags override them:
  --site NAME           name of this network/site (ARCMON_SITE; default: this host's name)
  --region R            Azure region of your Arc resources (ARCMON_REGION; default eastus)
  --cloud C             AzureCloud, AzureUSGovernment, AzureChinaCloud (ARCMON_CLOUD)
  --scenario S          comma list of scenarios, or all (ARCMON_SCENARIOS)
  --endpoints FILE      endpoints JSON file (ARCMON_ENDPOINTS_JSON holds the same JSON inline)
  --dns-server IP[:P]   DNS server to ask (ARCMON_DNS_SERVER)
  --proxy URL           explicit proxy (ARCMON_PROXY)
  --private-link        private-link mode (ARCMON_PRIVATE_LINK=true)
  --private-range CIDR  extra private endpoint range, repeatable (ARCMON_PRIVATE_RANGES)
  --expected-roots FILE PEM file of roots counted as genuine (ARCMON_EXPECTED_ROOTS_PEM holds the PEM text)
  --interval-s N        seconds between cycle starts (default: from PROBE_SCHEDULE, else 300)
  --cycles N            stop after N cycles (default: run until Ctrl-C)
  --http IP:PORT        serve the status page of this site, e.g. --http 127.0.0.1:8080
  --data-dir DIR        embedded store and spool, per site under DIR/sites/<site> (ARCMON_DATA_DIR; default
                        $STATE_DIRECTORY, /var/lib/arcmon for root, ~/.local/state/arcmon, %ProgramData%\\arcmon)
  -h, --help            this help`;

// Seconds between cycles for the common NCRONTAB shapes (every M minutes at second S, every S seconds);
// undefined for anything else.
export function intervalFromSchedule(schedule: string): number | undefined {
  const f = schedule.trim().split(/\s+/);
  if (f.length !== 6) return undefined;
  const [sec, min, hour, ...rest] = f as [string, string, string, string, string, string];
  if (!rest.every((x) => x === '*') || hour !== '*') return undefined;
  const minStep = /^\*\/(\d+)$/.exec(min);
  if (/^\d+$/.test(sec) && minStep) return Number(minStep[1]) * 60;
  if (/^\d+$/.test(sec) && min === '*') return 60;
  const secStep = /^\*\/(\d+)$/.exec(sec);
  if (secStep && min === '*') return Number(secStep[1]);
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `arcmon run` / `npm start`: returns the exit status. */
export async function runLocal(argv: string[], io: CheckIo): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        site: { type: 'string' },
        region: { type: 'string' },
        cloud: { type: 'string' },
        scenario: { type: 'string' },
        endpoints: { type: 'string' },
        'dns-server': { type: 'string' },
        proxy: { type: 'string' },
        'private-link': { type: 'boolean' },
        'private-range': { type: 'string', multiple: true },
        'expected-roots': { type: 'string' },
        'interval-s': { type: 'string' },
        cycles: { type: 'string' },
        'data-dir': { type: 'string' },
        http: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    io.stderr(`arcmon: ${err instanceof Error ? err.message : String(err)}\n(arcmon run --help lists the options)\n`);
    return EXIT.usage;
  }
  if (v.help) {
    io.stdout(RUN_USAGE + '\n');
    return EXIT.ok;
  }
  const env: Record<string, string | undefined> = { ...io.env };
  // Everything is checked before anything starts; messages name the flag, or the variable, the user set.
  let interval: number | undefined;
  let maxCycles: number;
  let dataDir: string;
  let listen: { host: string; port: number } | undefined;
  const defaultedRegion = !v.region && !env.ARCMON_REGION;
  try {
    env.ARCMON_SITE =
      v.site ??
      env.ARCMON_SITE ??
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 63);
    const cloud = parseCloud(v.cloud ?? env.ARCMON_CLOUD ?? 'AzureCloud', v.cloud ? '--cloud' : 'ARCMON_CLOUD');
    env.ARCMON_CLOUD = cloud;
    env.ARCMON_REGION = parseRegion(
      v.region ?? env.ARCMON_REGION ?? 'eastus',
      cloud,
      v.region ? '--region' : 'ARCMON_REGION',
    );
    if (env.ARCMON_REGION === '') throw new UsageError(`${v.region ? '--region' : 'ARCMON_REGION'} must not be empty`);
    if (v.scenario !== undefined) env.ARCMON_SCENARIOS = v.scenario;
    if (v['dns-server'] !== undefined) env.ARCMON_DNS_SERVER = v['dns-server'];
    if (v.proxy !== undefined) {
      parseProxy(v.proxy, '--proxy', env.NO_PROXY ?? env.no_proxy ?? '');
      env.ARCMON_PROXY = v.proxy;
    }
    if (v['private-link']) env.ARCMON_PRIVATE_LINK = 'true';
    if (v['private-range']) env.ARCMON_PRIVATE_RANGES = v['private-range'].join(',');
    interval = v['interval-s'] === undefined ? undefined : wholeNumber('--interval-s', v['interval-s'], 300, 1, 86_400);
    maxCycles = v.cycles === undefined ? Infinity : wholeNumber('--cycles', v.cycles, 1, 1, 1_000_000);
    // The flag names a file; the setting holds the certificates themselves, as in Azure.
    if (v['expected-roots']) env.ARCMON_EXPECTED_ROOTS_PEM = await readExpectedRoots(v['expected-roots']);
    if (v.endpoints) env.ARCMON_ENDPOINTS_JSON = (await readEndpointsFile(v.endpoints, '--endpoints')).text;
    listen = v.http === undefined ? undefined : parseListen(v.http, '--http');
    dataDir = resolve(v['data-dir'] ?? env.ARCMON_DATA_DIR ?? defaultDataDir(env));
    // Not an app setting of the Functions app: the runner's own.
    delete env.ARCMON_DATA_DIR;
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof ConfigError)) throw err;
    io.stderr(`arcmon: ${err.message}\n`);
    return EXIT.usage;
  }

  const embedded = !env.ARCMON_TABLE_ENDPOINT && !env.ARCMON_STORAGE_CONNECTION_STRING;
  let settings: Settings;
  try {
    // Validated before the embedded store starts (its connection string is not known yet).
    settings = parseSettings(
      embedded ? { ...env, ARCMON_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' } : env,
    );
  } catch (err) {
    if (!(err instanceof SettingsError)) throw err;
    io.stderr(`arcmon: ${err.message}\n`);
    return EXIT.usage;
  }
  const site = siteDir(dataDir, settings.ARCMON_SITE);
  try {
    await mkdir(site, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const option = v['data-dir']
      ? '--data-dir'
      : io.env.ARCMON_DATA_DIR
        ? 'ARCMON_DATA_DIR'
        : 'the default data directory';
    io.stderr(
      `arcmon: ${option}: cannot create ${site} (${code}); give a directory this user can write with --data-dir\n`,
    );
    return EXIT.usage;
  }

  let azurite: AzuriteHandle | undefined;
  const signal = io.signal ?? new AbortController().signal;
  try {
    if (embedded) {
      const location = join(site, 'azurite');
      azurite = await startAzurite({ port: 0, location });
      settings = { ...settings, ARCMON_STORAGE_CONNECTION_STRING: azurite.connectionString };
      io.stdout(`storage: embedded Azurite at ${azurite.tableEndpoint} (data in ${location})\n`);
    }
    const every = interval ?? intervalFromSchedule(settings.PROBE_SCHEDULE) ?? 300;
    const inputs = inputsFromSettings(settings, {
      extraCaPem: await readExtraCa(env),
      osCa: await readOsCaBundle(env),
    });
    const log = (line: string) => io.stdout(line + '\n');
    const deps = await createDeps(settings, { log, spoolDir: join(site, 'spool') });
    io.stdout(
      `monitoring site ${settings.ARCMON_SITE}: ${settings.ARCMON_CLOUD} ${settings.ARCMON_REGION}${defaultedRegion ? ' (default region; set --region or ARCMON_REGION)' : ''}, scenarios ${settings.ARCMON_SCENARIOS.join(',')}, every ${every} s; telemetry ${settings.APPLICATIONINSIGHTS_CONNECTION_STRING ? `to Application Insights (${settings.ARCMON_TELEMETRY_AUTH === 'entra' ? 'Microsoft Entra ID token' : 'instrumentation key only'})` : 'off (no APPLICATIONINSIGHTS_CONNECTION_STRING)'}; data in ${site}; Ctrl-C to stop\n`,
    );
    const page = listen ? await startStatusServer(listen, settings.ARCMON_SITE, deps.store) : undefined;
    if (page) io.stdout(`status page: ${page.url}\n`);
    try {
      for (let n = 0; n < maxCycles && !signal.aborted; n++) {
        const started = Date.now();
        // The cycle itself is not cut short by Ctrl-C: it finishes (bounded by the per-target deadline) and is stored.
        const result = await runMonitorCycle(
          {
            site: settings.ARCMON_SITE,
            inputs,
            concurrency: settings.ARCMON_CONCURRENCY,
            regression: regressionConfigFromSettings(settings),
          },
          deps,
          { pastDue: false },
        );
        log(cycleSummary(result));
        for (const line of transitionLines(result)) log(line);
        if (n + 1 < maxCycles) await sleep(Math.max(0, every * 1000 - (Date.now() - started)), signal);
      }
    } finally {
      await page?.close();
      await deps.close();
    }
    if (signal.aborted) {
      io.stdout('stopped\n');
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`arcmon: ${err.message}\n`);
      return EXIT.usage;
    }
    throw err;
  } finally {
    await azurite?.stop();
  }
}
