import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EXIT, runCheck, type CheckIo } from './check';

const USAGE = `arcmon — Azure Arc connectivity monitor

Commands:
  arcmon check [options]   check every endpoint Azure Arc needs, now, from this machine (arcmon check --help)
  arcmon run [options]     run the monitor on its schedule, storing history and raising incidents (arcmon run --help)
  arcmon allowlist --format F   firewall, NSG and proxy rules for the endpoints (arcmon allowlist --help)
  arcmon catalog [options] list what is checked and why: hosts, status, service tags, sources (arcmon catalog --help)
  arcmon status [options]  latest verdict of every endpoint and the open incidents (arcmon status --help)
  arcmon history ENDPOINT  one endpoint's results over time, e.g. --since 24h (arcmon history --help)
  arcmon --version         the version of this arcmon
`;

/** The version in the package.json above this file (source tree or installed package). */
export function version(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'arc-connectivity-monitor' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

/** Where a command writes: stdout goes quiet once the reader has gone (a closed pipe is not an error). */
export type Io = CheckIo & { signal: AbortSignal };

/** Dispatches a command line; returns the exit status. */
export async function main(argv: string[], io?: Io): Promise<number> {
  const [command, ...rest] = argv;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const out = io ?? processIo(controller);
  try {
    switch (command) {
      case 'check':
        return await runCheck(rest, out);
      case 'run': {
        const { runLocal } = await import('./run');
        return await runLocal(rest, out);
      }
      case 'allowlist': {
        const { runAllowlist } = await import('./allowlist');
        return await runAllowlist(rest, out);
      }
      case 'catalog':
        return (await import('./catalog')).runCatalog(rest, out);
      case 'status':
      case 'history': {
        const { runHistory, runStatus } = await import('./status');
        return await (command === 'status' ? runStatus : runHistory)(rest, out);
      }
      case '--version':
      case '-V':
      case 'version':
        out.stdout(`arcmon ${version()}\n`);
        return EXIT.ok;
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        out.stdout(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        out.stderr(`arcmon: unknown command "${command}"\n\n${USAGE}`);
        return EXIT.usage;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** This process's streams. A reader that closes stdout (`arcmon check --output jsonl | head`) stops the output
 * and the command as if interrupted, without a stack trace. */
function processIo(controller: AbortController): Io {
  let closed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed = true;
    controller.abort();
  });
  return {
    stdout: (s: string) => {
      if (!closed) process.stdout.write(s);
    },
    stderr: (s: string) => void process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
    ...(process.stdout.isTTY && process.stdout.columns ? { columns: process.stdout.columns } : {}),
    env: process.env,
    signal: controller.signal,
  };
}

/** Runs the command line of this process and sets its exit status. */
export function runMain(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `arcmon: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = EXIT.internal;
    },
  );
}

if (require.main === module) runMain();
