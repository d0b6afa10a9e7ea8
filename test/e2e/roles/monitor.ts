/**
 * The monitor namespace's agent: the product as it runs in the customer's VNet. It starts real Azurite and a local
 * TLS Application Insights ingestion server on this namespace's loopback, then calls the exported timer handler
 * (`probeCycle` from the built `dist/functions/index.js`) once per requested cycle, with app settings in
 * `process.env` exactly as the Functions host would set them. The test reads back what the product stored and sent.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { InvocationContext, type Timer } from '@azure/functions';
import { TableClient, odata } from '@azure/data-tables';
import { startAzurite } from '../../../lib/store/azurite';
import { encodeKeyPart } from '../../../lib/store/keys';
import { startIngestionServer, type Envelope } from '../../helpers/ingestionServer';
import type { RoleInstance } from '../ipc';

export interface MonitorInit {
  /** The built Functions app (`dist/functions/index.js`). */
  functionsBundle: string;
  /** Certificate (signed by a CA in this process's NODE_EXTRA_CA_CERTS) and key of the ingestion server. */
  ingestionTls: { certPem: string; keyPem: string };
}

/** What one handler invocation did. */
export interface CycleRun {
  /** Wall time of the invocation, telemetry flush included. */
  durationMs: number;
  /** Lines the handler logged through its InvocationContext, with their level. */
  logs: string[];
  /** Peak resident memory of this monitor process so far (MiB): the Functions worker's share of the host. */
  maxRssMiB: number;
  /** Set when the handler threw (a bug, or bad settings). */
  error?: string;
}

/** An incident row as stored in the incidents table. */
export interface StoredIncident {
  incidentId: string;
  targetId: string;
  kind: string;
  status: string;
  severity: string;
  failureCode?: string;
  message: string;
  openedAt: string;
  resolvedAt?: string;
}

/** One telemetry item the product sent, reduced to what scenarios assert. */
export interface TelemetryItem {
  baseType: string;
  /** Event name, or the availability result's name (`host:port`). */
  name: string;
  success?: boolean;
  runLocation?: string;
  properties: Record<string, string>;
  measurements: Record<string, number>;
}

export interface MonitorOps {
  /** Runs the timer handler once with these app settings (storage and Application Insights are filled in). */
  cycle(arg: { settings: Record<string, string> }): Promise<CycleRun>;
  incidents(arg: { site: string }): Promise<StoredIncident[]>;
  /** The latency baseline and last total the state table holds for one endpoint (ms). */
  latency(arg: { site: string; targetId: string }): Promise<{ baselineMs?: number; lastMs?: number }>;
  /**
   * Telemetry items from index `from` on, once `cycles` MonitorCycle events have arrived (every cycle sends one,
   * after its availability results and transitions). Rejects after 15 s saying what did arrive.
   */
  telemetry(arg: { from: number; cycles: number }): Promise<{ items: TelemetryItem[]; next: number }>;
  /** Requests the ingestion server saw on paths other than /v2.1/track (the monitor must send nothing else). */
  strayRequests(arg: null): string[];
}

const TABLE_PREFIX = 'arcmon';

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export async function startMonitor(init: MonitorInit): Promise<RoleInstance<MonitorOps>> {
  const [azurite, ingestion] = await Promise.all([
    startAzurite({ port: 0, inMemory: true }),
    startIngestionServer({ tls: init.ingestionTls }),
  ]);
  // The built bundle, as the Functions host loads it; required lazily so a missing build fails with its path.
  const bundle = init.functionsBundle;
  const { probeCycle } = createRequire(bundle)(bundle) as {
    probeCycle: (timer: Timer, context: InvocationContext) => Promise<void>;
  };
  const managed = new Set<string>();

  const simplify = (e: Envelope): TelemetryItem => {
    const base = e.data.baseData;
    const properties = (base.properties ?? {}) as Record<string, string>;
    const measurements = (base.measurements ?? {}) as Record<string, number>;
    return {
      baseType: e.data.baseType,
      name: text(base.name) ?? e.name,
      ...(typeof base.success === 'boolean' ? { success: base.success } : {}),
      ...(text(base.runLocation) ? { runLocation: text(base.runLocation) } : {}),
      properties,
      measurements,
    };
  };
  const interesting = (e: Envelope) => e.data.baseType === 'EventData' || e.data.baseType === 'AvailabilityData';
  const cycleEvents = (list: readonly Envelope[]) =>
    list.filter((e) => e.data.baseType === 'EventData' && e.data.baseData.name === 'MonitorCycle').length;

  return {
    ops: {
      async cycle({ settings }) {
        for (const name of managed) delete process.env[name];
        const full: Record<string, string> = {
          ARCMON_STORAGE_CONNECTION_STRING: azurite.connectionString,
          APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
          // The rig's ingestion server takes the key; an Entra ID credential would look for an identity
          // that the namespace does not have.
          ARCMON_TELEMETRY_AUTH: 'key',
          ...settings,
        };
        for (const [name, value] of Object.entries(full)) {
          process.env[name] = value;
          managed.add(name);
        }
        const logs: string[] = [];
        const context = new InvocationContext({
          functionName: 'probeCycle',
          invocationId: randomUUID(),
          logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });
        const now = new Date();
        const timer: Timer = {
          isPastDue: false,
          schedule: { adjustForDST: false },
          scheduleStatus: { last: now.toISOString(), next: now.toISOString(), lastUpdated: now.toISOString() },
        };
        const started = performance.now();
        const measured = () => ({
          durationMs: Math.round(performance.now() - started),
          logs,
          maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
        });
        try {
          await probeCycle(timer, context);
          return measured();
        } catch (err) {
          return { ...measured(), error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
        }
      },
      async incidents({ site }) {
        const client = TableClient.fromConnectionString(azurite.connectionString, `${TABLE_PREFIX}Incidents`, {
          allowInsecureConnection: true,
        });
        const rows: StoredIncident[] = [];
        const entities = client.listEntities<Record<string, unknown>>({
          queryOptions: { filter: odata`PartitionKey eq ${encodeKeyPart(site)}` },
        });
        for await (const row of entities) {
          rows.push({
            incidentId: text(row.incidentId) ?? '',
            targetId: text(row.targetId) ?? '',
            kind: text(row.kind) ?? '',
            status: text(row.status) ?? '',
            severity: text(row.severity) ?? '',
            message: text(row.message) ?? '',
            openedAt: text(row.openedAt) ?? '',
            ...(text(row.failureCode) ? { failureCode: text(row.failureCode) } : {}),
            ...(text(row.resolvedAt) ? { resolvedAt: text(row.resolvedAt) } : {}),
          });
        }
        return rows;
      },
      async latency({ site, targetId }) {
        const client = TableClient.fromConnectionString(azurite.connectionString, `${TABLE_PREFIX}State`, {
          allowInsecureConnection: true,
        });
        const row = await client.getEntity<Record<string, unknown>>(encodeKeyPart(site), encodeKeyPart(targetId));
        const ms = (v: unknown) => (typeof v === 'number' ? Math.round(v) : undefined);
        const baselineMs = ms(row.baselineLatencyMs);
        const lastMs = ms(row.lastLatencyMs);
        return { ...(baselineMs !== undefined ? { baselineMs } : {}), ...(lastMs !== undefined ? { lastMs } : {}) };
      },
      async telemetry({ from, cycles }) {
        await ingestion.waitFor((list) => cycleEvents(list) >= cycles, 15_000);
        const all = ingestion.envelopes;
        return { items: all.slice(from).filter(interesting).map(simplify), next: all.length };
      },
      strayRequests: () =>
        ingestion.requests.filter((r) => r.path !== '/v2.1/track').map((r) => `${r.method} ${r.path}`),
    },
    async close() {
      await Promise.allSettled([ingestion.close(), azurite.stop()]);
    },
  };
}
