import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { mkdir } from 'node:fs/promises';

/**
 * Azurite's documented development account. The key is public and works only against the emulator; it is the
 * one account key this project ever contains.
 */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const HOST = '127.0.0.1';
const TABLE_ENTRY = 'azurite/dist/src/table/main.js';
/** Azurite 3.35 prints this once the table service listens (it cannot report a port it picked itself). */
const STARTED_LINE = 'successfully started';

export interface AzuriteOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Directory for Azurite's data (kept across {@link AzuriteHandle.restart}); absent = in memory. */
  location?: string;
  /** Keep data in memory only. Default: true when `location` is absent. Cannot be combined with `location`. */
  inMemory?: boolean;
  /** Path of Azurite's table entry point (`azurite-table`). Default: resolved from the installed `azurite`. */
  binPath?: string;
  /** How long to wait for the port to accept. Default 20000 ms. */
  startTimeoutMs?: number;
  /**
   * Serve HTTPS with this certificate and key (PEM files). With `oauth`, Azurite also accepts Microsoft Entra ID
   * bearer tokens (`--oauth basic`: audience, issuer and lifetime are checked, not the signature), which it allows
   * only over HTTPS. Default: plain HTTP, shared key only.
   */
  https?: { certPath: string; keyPath: string; oauth?: boolean };
}

export interface AzuriteHandle {
  /** Connection string for the dev account, table endpoint only (http, or https with {@link AzuriteOptions.https}). */
  readonly connectionString: string;
  /** `http://127.0.0.1:<port>/devstoreaccount1` (`https://` with {@link AzuriteOptions.https}) */
  readonly tableEndpoint: string;
  readonly port: number;
  /** Stops the process (graceful, then forced after 5 s). Safe to call twice. */
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL: nothing saved, requests in flight cut). Start it again with `restart`. */
  kill(): Promise<void>;
  /** Stops and starts again on the same port; data survives when it is on disk. */
  restart(): Promise<void>;
}

function resolveTableEntry(): string {
  // The project directory when run from it (npm start, tests), else next to this bundle or the entry script.
  const dirs = [process.cwd(), typeof __dirname === 'string' ? __dirname : undefined];
  if (process.argv[1]) dirs.push(dirname(process.argv[1]));
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      return createRequire(join(dir, 'noop.js')).resolve(TABLE_ENTRY);
    } catch {
      // not installed below this directory: try the next one
    }
  }
  throw new Error(
    'Azurite is not installed (the azurite package provides azurite-table): run npm install in the project, ' +
      'or point ARCMON_STORAGE_CONNECTION_STRING / ARCMON_TABLE_ENDPOINT at existing storage',
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

class AddressInUseError extends Error {}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  killOnExit: () => void;
}

/**
 * Runs Azurite's entry point with its own arguments, and stops it when the parent goes away however it goes (even
 * `kill -9`): the parent holds the write end of this process's stdin, which the kernel closes when the parent dies.
 * Azurite gets SIGINT first (it saves its database), then the process exits after 3 s regardless.
 */
const WATCH_PARENT = `
const [node, entry, ...rest] = process.argv;
process.argv = [node, entry, ...rest];
const gone = () => { process.emit('SIGINT'); setTimeout(() => process.exit(0), 3000).unref(); };
process.stdin.on('data', () => {}).once('end', gone).once('error', gone);
require(entry);
`;

async function launch(entry: string, port: number, args: string[], cwd: string, timeoutMs: number): Promise<Running> {
  // Its own process group (detached): Ctrl-C in a terminal reaches the monitor only, which stops Azurite in order.
  const child = spawn(
    process.execPath,
    ['-e', WATCH_PARENT, entry, '--tableHost', HOST, '--tablePort', String(port), ...args],
    { cwd, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, detached: true },
  );
  let output = '';
  let started = false;
  let exitCode: number | null | undefined;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
    if (output.includes(STARTED_LINE)) started = true;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      resolve();
    });
    child.once('error', (e) => {
      output += `\n${e.message}`;
      exitCode = -1;
      resolve();
    });
  });
  // An Azurite left behind by a crashed parent would hold the port: take it down with us.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      process.removeListener('exit', killOnExit);
      const message = `Azurite (table) exited during start (code ${String(exitCode)}): ${output.trim()}`;
      throw /EADDRINUSE/.test(output) ? new AddressInUseError(message) : new Error(message);
    }
    if (started && (await accepts(port))) return { child, exited, killOnExit };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await exited;
  process.removeListener('exit', killOnExit);
  throw new Error(`Azurite (table) did not accept connections on ${HOST}:${port} within ${timeoutMs} ms: ${output}`);
}

async function halt(running: Running): Promise<void> {
  const { child, exited, killOnExit } = running;
  if (child.exitCode === null && child.signalCode === null) {
    // Closing its stdin is what the watcher waits for: Azurite gets SIGINT and saves its database before it exits.
    child.stdin?.end();
    const forced = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  }
  process.removeListener('exit', killOnExit);
}

/**
 * Starts Azurite's table service (only) as a child process on 127.0.0.1, with telemetry disabled and the API
 * version check skipped, and resolves once the port accepts connections. Used by the local runner when no storage
 * is configured and by the tests.
 */
export async function startAzurite(opts: AzuriteOptions = {}): Promise<AzuriteHandle> {
  if (opts.inMemory && opts.location) {
    throw new Error('startAzurite: inMemory and location exclude each other (Azurite refuses both)');
  }
  const entry = opts.binPath ?? resolveTableEntry();
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const inMemory = opts.inMemory ?? !opts.location;
  let location = opts.location;
  if (!inMemory && !location) location = join(tmpdir(), `arcmon-azurite-${process.pid}-${Date.now()}`);
  if (location) await mkdir(location, { recursive: true });
  const args = ['--disableTelemetry', '--skipApiVersionCheck', '--silent'];
  args.push(...(location ? ['--location', location] : ['--inMemoryPersistence']));
  if (opts.https) {
    args.push('--cert', opts.https.certPath, '--key', opts.https.keyPath);
    if (opts.https.oauth) args.push('--oauth', 'basic');
  }
  // In memory, Azurite still treats its working directory as its workspace: keep that out of the project.
  const cwd = location ?? tmpdir();

  const fixedPort = opts.port !== undefined && opts.port !== 0;
  let port = fixedPort ? (opts.port as number) : await freePort();
  let running: Running | undefined;
  for (let attempt = 1; !running; attempt++) {
    try {
      running = await launch(entry, port, args, cwd, timeoutMs);
    } catch (e) {
      // A port picked by us can be taken before Azurite binds it: pick another.
      if (!(e instanceof AddressInUseError) || fixedPort || attempt >= 3) throw e;
      port = await freePort();
    }
  }

  const scheme = opts.https ? 'https' : 'http';
  const tableEndpoint = `${scheme}://${HOST}:${port}/${DEV_ACCOUNT}`;
  const connectionString =
    `DefaultEndpointsProtocol=${scheme};AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};` +
    `TableEndpoint=${tableEndpoint};`;

  let current: Running | undefined = running;
  const stop = async () => {
    const r = current;
    current = undefined;
    if (r) await halt(r);
  };
  return {
    connectionString,
    tableEndpoint,
    port,
    stop,
    async kill() {
      const r = current;
      current = undefined;
      if (!r) return;
      r.child.kill('SIGKILL');
      await r.exited;
      process.removeListener('exit', r.killOnExit);
    },
    async restart() {
      await stop();
      for (let attempt = 1; !current; attempt++) {
        try {
          current = await launch(entry, port, args, cwd, timeoutMs);
        } catch (e) {
          // The old process may still be letting go of the port.
          if (!(e instanceof AddressInUseError) || attempt >= 5) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
  };
}
