import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { parseSettings, SettingsError, type Settings } from '../lib/config/settings';
import type { BuiltDeps } from '../lib/monitor/deps';
import { probeTarget } from '../lib/probes';
import { inputsFromSettings, regressionConfigFromSettings } from '../lib/monitor/fromSettings';
import { cycleSummary, probeSite, recordCycle, transitionLines, type MonitorConfig } from '../lib/monitor/monitor';
import { readExtraCa, readOsCaBundle } from '../lib/monitor/setup';

/**
 * Thin shells over lib/: parse settings at the edge, build dependencies once per process (reused across
 * invocations while the settings stay the same), call the monitor.
 */

/** The three functions of the app, sharing one set of dependencies per process. */
export interface Handlers {
  probeCycle: (timer: Timer, context: InvocationContext) => Promise<void>;
  retention: (timer: Timer, context: InvocationContext) => Promise<void>;
  status: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
  /** Releases the dependencies (telemetry flushed, connections closed). */
  close(): Promise<void>;
}

/**
 * Builds the handlers with their own dependency cache: reused across invocations while the settings stay the same,
 * rebuilt when they change. The host gets one set (`functions/index.ts`); each test builds its own.
 */
export function createHandlers(): Handlers {
  let cached: { key: string; deps: Promise<BuiltDeps> } | undefined;

  function depsFor(settings: Settings, context: InvocationContext): Promise<BuiltDeps> {
    const key = JSON.stringify(settings);
    if (!cached || cached.key !== key) {
      const previous = cached;
      // Loaded on first use: the sinks (Table Storage, identity, the Application Insights SDK) are the heaviest code
      // we have, and a fresh instance probes before it needs them. The build puts them in a bundle of their own.
      cached = {
        key,
        deps: import('../lib/monitor/deps').then(({ createDeps }) =>
          createDeps(settings, { log: (l) => context.log(l) }),
        ),
      };
      void previous?.deps.then((d) => d.close()).catch(() => undefined);
    }
    return cached.deps.catch((err: unknown) => {
      cached = undefined;
      throw err;
    });
  }

  return {
    probeCycle: (timer, context) => probeCycle(timer, context, depsFor),
    retention: (timer, context) => retention(timer, context, depsFor),
    status: (request, context) => status(request, context, depsFor),
    async close() {
      const c = cached;
      cached = undefined;
      if (c) await (await c.deps).close();
    },
  };
}

type DepsFor = (settings: Settings, context: InvocationContext) => Promise<BuiltDeps>;

function settingsOrThrow(context: InvocationContext): Settings {
  try {
    return parseSettings(process.env);
  } catch (err) {
    if (err instanceof SettingsError) context.error(err.message);
    throw err;
  }
}

/** Timer: one monitor cycle. */
async function probeCycle(timer: Timer, context: InvocationContext, depsFor: DepsFor): Promise<void> {
  const settings = settingsOrThrow(context);
  if (timer.isPastDue)
    context.warn('probeCycle is running late (past due): the previous run overran or the host was down');
  const inputs = inputsFromSettings(settings, {
    extraCaPem: await readExtraCa(process.env),
    osCa: await readOsCaBundle(process.env),
  });
  const cfg: MonitorConfig = {
    site: settings.ARCMON_SITE,
    inputs,
    concurrency: settings.ARCMON_CONCURRENCY,
    regression: regressionConfigFromSettings(settings),
  };
  const report = await probeSite(cfg, probeTarget, { log: (l) => context.log(l) });
  const deps = await depsFor(settings, context);
  const result = await recordCycle(cfg, deps, report, { pastDue: timer.isPastDue });
  context.log(cycleSummary(result));
  for (const line of transitionLines(result)) context.warn(line);
}

/** Timer (daily): deletes history older than ARCMON_RETENTION_DAYS. */
async function retention(_timer: Timer, context: InvocationContext, depsFor: DepsFor): Promise<void> {
  const settings = settingsOrThrow(context);
  const deps = await depsFor(settings, context);
  const cutoff = new Date(Date.now() - settings.ARCMON_RETENTION_DAYS * 86_400_000);
  const deleted = await deps.store.purgeHistory(cutoff);
  context.log(`retention: deleted ${deleted} history entities older than ${cutoff.toISOString()}`);
}

/** HTTP GET (function key): latest state of every endpoint and the open incidents. */
async function status(request: HttpRequest, context: InvocationContext, depsFor: DepsFor): Promise<HttpResponseInit> {
  let settings: Settings;
  try {
    settings = parseSettings(process.env);
  } catch (err) {
    return { status: 500, jsonBody: { error: err instanceof Error ? err.message : String(err) } };
  }
  const deps = await depsFor(settings, context);
  const site = request.query.get('site') ?? undefined;
  const latest = await deps.store.latest(site);
  return {
    status: 200,
    jsonBody: {
      generatedAt: new Date().toISOString(),
      site: site ?? 'all',
      openIncidents: latest.openIncidents,
      endpoints: latest.states,
      unreadableRows: latest.unreadable,
    },
  };
}
