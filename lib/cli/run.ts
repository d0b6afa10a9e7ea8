import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseSettings, SettingsError, type Settings } from '../config/settings';
import { ConfigError } from '../catalog';
import { createDeps } from '../monitor/deps';
import { inputsFromSettings, regressionConfigFromSettings } from '../monitor/fromSettings';
import { cycleSummary, runMonitorCycle, transitionLines } from '../monitor/monitor';
import { readExtraCa, readOsCaBundle } from '../monitor/setup';
import { startAzurite, type AzuriteHandle } from '../store/azurite';
import { readExpectedRoots, UsageError, type CheckIo } from './check';

export const RUN_USAGE = `Usage: arcmon run [options]

Runs the monitor here on its schedule (first cycle at once): probes, stores history, state and incidents in Table
Storage, reports to Application Insights when APPLICATIONINSIGHTS_CONNECTION_STRING is set. Without storage settings
it starts an embedded Azurite (in memory) and stops it on exit. Ctrl-C stops it between cycles.

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
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    io.stderr(`arcmon: ${err instanceof Error ? err.message : String(err)}\n\n${RUN_USAGE}\n`);
    return 2;
  }
  if (v.help) {
    io.stdout(RUN_USAGE + '\n');
    return 0;
  }
  const env: Record<string, string | undefined> = { ...io.env };
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) env[name] = value;
  };
  set(
    'ARCMON_SITE',
    v.site ??
      env.ARCMON_SITE ??
      hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 63),
  );
  const defaultedRegion = !v.region && !env.ARCMON_REGION;
  set('ARCMON_REGION', v.region ?? env.ARCMON_REGION ?? 'eastus');
  set('ARCMON_CLOUD', v.cloud);
  set('ARCMON_SCENARIOS', v.scenario);
  set('ARCMON_DNS_SERVER', v['dns-server']);
  set('ARCMON_PROXY', v.proxy);
  if (v['private-link']) env.ARCMON_PRIVATE_LINK = 'true';
  if (v['private-range']) env.ARCMON_PRIVATE_RANGES = v['private-range'].join(',');
  if (v['expected-roots']) {
    // The flag names a file; the setting holds the certificates themselves, as in Azure.
    try {
      env.ARCMON_EXPECTED_ROOTS_PEM = await readExpectedRoots(v['expected-roots']);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr(`arcmon: ${err.message}\n`);
      return 2;
    }
  }
  if (v.endpoints) {
    try {
      env.ARCMON_ENDPOINTS_JSON = await readFile(v.endpoints, 'utf8');
    } catch (err) {
      io.stderr(
        `arcmon: --endpoints: cannot read ${v.endpoints} (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`,
      );
      return 2;
    }
  }

  let azurite: AzuriteHandle | undefined;
  const signal = io.signal ?? new AbortController().signal;
  try {
    // Every setting is checked before anything starts (the embedded Azurite included).
    const embedded = !env.ARCMON_TABLE_ENDPOINT && !env.ARCMON_STORAGE_CONNECTION_STRING;
    let settings: Settings;
    try {
      settings = parseSettings(
        embedded ? { ...env, ARCMON_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' } : env,
      );
    } catch (err) {
      if (err instanceof SettingsError) {
        io.stderr(`arcmon: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    const interval = v['interval-s'] ? Number(v['interval-s']) : (intervalFromSchedule(settings.PROBE_SCHEDULE) ?? 300);
    if (!Number.isFinite(interval) || interval < 1) {
      io.stderr(`arcmon: --interval-s must be a whole number of seconds (at least 1)\n`);
      return 2;
    }
    const maxCycles = v.cycles ? Number(v.cycles) : Infinity;
    if (v.cycles && (!Number.isInteger(maxCycles) || maxCycles < 1)) {
      io.stderr(`arcmon: --cycles must be a whole number (at least 1)\n`);
      return 2;
    }
    const inputs = inputsFromSettings(settings, {
      extraCaPem: await readExtraCa(env),
      osCa: await readOsCaBundle(env),
    });
    if (embedded) {
      azurite = await startAzurite({ port: 0, inMemory: true });
      settings = { ...settings, ARCMON_STORAGE_CONNECTION_STRING: azurite.connectionString };
      io.stdout(
        `storage: embedded Azurite at ${azurite.tableEndpoint} (in memory; set ARCMON_STORAGE_CONNECTION_STRING or ARCMON_TABLE_ENDPOINT to keep history)\n`,
      );
    }
    const log = (line: string) => io.stdout(line + '\n');
    const deps = await createDeps(settings, { log });
    io.stdout(
      `monitoring site ${settings.ARCMON_SITE}: ${settings.ARCMON_CLOUD} ${settings.ARCMON_REGION}${defaultedRegion ? ' (default region; set --region or ARCMON_REGION)' : ''}, scenarios ${settings.ARCMON_SCENARIOS.join(',')}, every ${interval} s; telemetry ${settings.APPLICATIONINSIGHTS_CONNECTION_STRING ? `to Application Insights (${settings.ARCMON_TELEMETRY_AUTH === 'entra' ? 'Microsoft Entra ID token' : 'instrumentation key only'})` : 'off (no APPLICATIONINSIGHTS_CONNECTION_STRING)'}; Ctrl-C to stop\n`,
    );
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
        if (n + 1 < maxCycles) await sleep(Math.max(0, interval * 1000 - (Date.now() - started)), signal);
      }
    } finally {
      await deps.close();
    }
    if (signal.aborted) io.stdout('stopped\n');
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr(`arcmon: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    await azurite?.stop();
  }
}
