// Bundles the Functions app and the CLI into CommonJS files under dist/ with esbuild.
// One file each keeps cold start short (no module-resolution walk over node_modules at start).
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
};

await build({ ...common, entryPoints: { 'functions/index': 'functions/index.ts' }, outdir: 'dist' });
await build({ ...common, entryPoints: { cli: 'lib/cli/main.ts' }, outdir: 'dist' });
