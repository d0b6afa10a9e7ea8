/**
 * `npm run bench`: every figure the issues ask for, measured side by side in one run on this machine.
 * Traffic stays on loopback; each part stops by itself.
 */
import { cpus } from 'node:os';
import { benchColdStart } from './coldstart';
import { benchProbes } from './probes';
import { benchServiceTags } from './serviceTags';
import { benchRetention } from './retention';
import { benchTables } from './tables';

async function main(): Promise<void> {
  console.log(`arcmon benchmarks — node ${process.version}, ${cpus().length} cores, ${new Date().toISOString()}`);
  const parts: [string, () => Promise<{ lines: string[] }>][] = [
    ['probe engine (issue 2)', benchProbes],
    ['Table Storage writes (issue 3)', benchTables],
    ['cold start (issue 3)', benchColdStart],
    ['service tags per address (issue 12)', benchServiceTags],
    ['retention (issue 10)', benchRetention],
  ];
  for (const [title, bench] of parts) {
    console.log(`\n== ${title}`);
    const { lines } = await bench();
    for (const line of lines) console.log(line);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
