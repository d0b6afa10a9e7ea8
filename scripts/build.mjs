// Bundles the Functions app and the CLI into CommonJS files under dist/ with esbuild.
// One file each keeps cold start short (no module-resolution walk over node_modules at start). The Application
// Insights SDK is its own bundle (dist/appInsights.js), loaded only when telemetry is configured: `arcmon check`
// and a monitor without telemetry never parse it.
import { cpSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
  // Provided by the Functions worker at run time; @azure/functions requires it lazily.
  external: ['@azure/functions-core'],
};

/** Points imports of lib/telemetry/appInsights at the separate bundle, relative to the importing bundle. */
const telemetryApart = (relative) => ({
  name: 'telemetry-apart',
  setup(b) {
    b.onResolve({ filter: /telemetry\/appInsights$/ }, () => ({ path: relative, external: true }));
  },
});

/** Same for the sinks (Table Storage, identity): a fresh Functions instance probes before it loads them. */
const sinksApart = {
  name: 'sinks-apart',
  setup(b) {
    b.onResolve({ filter: /monitor\/deps$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: './sinks.js', external: true } : undefined,
    );
  },
};

await build({ ...common, entryPoints: { appInsights: 'lib/telemetry/appInsights.ts' }, outdir: 'dist' });
await build({
  ...common,
  entryPoints: { 'functions/sinks': 'lib/monitor/deps.ts' },
  outdir: 'dist',
  plugins: [telemetryApart('../appInsights.js')],
});
await build({
  ...common,
  entryPoints: { 'functions/index': 'functions/index.ts' },
  outdir: 'dist',
  plugins: [telemetryApart('../appInsights.js'), sinksApart],
});
await build({
  ...common,
  entryPoints: { cli: 'lib/cli/main.ts' },
  outdir: 'dist',
  plugins: [telemetryApart('./appInsights.js')],
});

// The status page of `arcmon run --http` (static files, no CDN), beside the CLI bundle.
cpSync('lib/cli/statusPage', 'dist/statusPage', { recursive: true });
