/**
 * Cold start: in a fresh process, the time from spawn to the first probe of the first probeCycle invocation —
 * everything it loads before probing included — as a ratio to a bare `node -e 0`. The "first probe" is the first DNS
 * query the monitor sends, seen by a loopback DNS listener. By design the sinks (the Table Storage client, identity
 * and the Application Insights SDK, in bundles of their own) load after the probes, so the whole first invocation
 * is reported too: spawn to exit, with sinks loaded, tables created, results written and telemetry flushed.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite } from '../../lib/store/azurite';
import { startIngestionServer } from '../helpers/ingestionServer';
import { createLeaf, createRoot } from '../helpers/pki';

const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ startedAt: number; endedAt: number; code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ startedAt, endedAt: performance.now(), code, stderr }));
  });
}

export async function benchColdStart(): Promise<{ lines: string[] }> {
  if (!existsSync('dist/functions/index.js')) throw new Error('dist/ is missing: run `npm run build` first');
  const dir = await mkdtemp(join(tmpdir(), 'arcmon-cold-'));
  const ca = await createRoot('arcmon bench ingestion CA');
  const leaf = await createLeaf(ca, ['127.0.0.1', 'localhost']);
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const ingestion = await startIngestionServer({ tls: { certPem: leaf.certPem, keyPem: leaf.keyPem } });
  const azurite = await startAzurite({ port: 0, inMemory: true });

  // A DNS listener that notes when the first query arrives and never answers (probes then time out quickly).
  const dns = dgram.createSocket('udp4');
  let firstQueryAt: number | undefined;
  dns.on('message', () => {
    firstQueryAt ??= performance.now();
  });
  await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
  const dnsPort = dns.address().port;

  const lines: string[] = [];
  try {
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await run(['-e', '0'], { PATH: process.env.PATH });
      bare.push(r.endedAt - r.startedAt);
    }
    const cold: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      firstQueryAt = undefined;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        TMPDIR: dir,
        NODE_EXTRA_CA_CERTS: caFile,
        ARCMON_REGION: 'eastus',
        ARCMON_SITE: 'coldstart',
        ARCMON_TABLE_PREFIX: `cold${i}`,
        ARCMON_STORAGE_CONNECTION_STRING: azurite.connectionString,
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
        ARCMON_TELEMETRY_AUTH: 'key',
        ARCMON_DNS_SERVER: `127.0.0.1:${dnsPort}`,
        ARCMON_TIMEOUT_MS: '300',
        ARCMON_ENDPOINTS_JSON: JSON.stringify({
          version: 1,
          wildcards: { notificationHosts: ['azgn-bench.servicebus.windows.net'] },
        }),
      };
      const r = await run(['test/bench/coldstartChild.js'], env);
      if (r.code !== 0 || firstQueryAt === undefined)
        throw new Error(`cold start child failed (${r.code}): ${r.stderr}`);
      cold.push(firstQueryAt - r.startedAt);
      whole.push(r.endedAt - r.startedAt);
    }
    const unbundled: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(['-e', "require('applicationinsights')"], { PATH: process.env.PATH });
      unbundled.push(r.endedAt - r.startedAt);
    }
    const b = median(bare);
    const c = median(cold);
    lines.push(
      `cold start: spawn → first probe of the first probeCycle (bundled app; sinks load after probing): median ${c.toFixed(0)} ms of ${RUNS} (min ${Math.min(...cold).toFixed(0)}, max ${Math.max(...cold).toFixed(0)})`,
      `cold start: bare \`node -e 0\`: median ${b.toFixed(0)} ms; ratio ${(c / b).toFixed(2)} (goal < 8)`,
      `cold start: whole first invocation, spawn → exit (probes with a 300 ms deadline, then Table Storage + App Insights SDK loaded, tables created, results written, telemetry flushed): median ${median(whole).toFixed(0)} ms`,
      `cold start: for scale, \`node -e "require('applicationinsights')"\` unbundled: median ${median(unbundled).toFixed(0)} ms; ratio ${(median(unbundled) / b).toFixed(2)}`,
    );
  } finally {
    dns.close();
    await ingestion.close();
    await azurite.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { lines };
}

if (require.main === module) {
  benchColdStart().then(
    (r) => console.log(r.lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
