import { runCheck } from './check';

const USAGE = `arcmon — Azure Arc connectivity monitor

Commands:
  arcmon check [options]   check every endpoint Azure Arc needs, now, from this machine (arcmon check --help)
  arcmon run [options]     run the monitor on its schedule, storing history and raising incidents (arcmon run --help)
  arcmon allowlist --format F   firewall, NSG and proxy rules for the endpoints (arcmon allowlist --help)
  arcmon catalog [options] list what is checked and why: hosts, status, service tags, sources (arcmon catalog --help)
`;

/** Dispatches a command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const io = {
    stdout: (s: string) => void process.stdout.write(s),
    stderr: (s: string) => void process.stderr.write(s),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    signal: controller.signal,
  };
  try {
    switch (command) {
      case 'check':
        return await runCheck(rest, io);
      case 'run': {
        const { runLocal } = await import('./run');
        return await runLocal(rest, io);
      }
      case 'allowlist': {
        const { runAllowlist } = await import('./allowlist');
        return await runAllowlist(rest, io);
      }
      case 'catalog':
        return (await import('./catalog')).runCatalog(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr(`arcmon: unknown command "${command}"\n\n${USAGE}`);
        return 2;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
      process.exitCode = 3;
    },
  );
}

if (require.main === module) runMain();
