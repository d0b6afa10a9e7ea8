// `prepare` runs on `npm install` / `npm ci` in a clone. With the dev dependencies (esbuild) it builds dist/;
// without them (`npm ci --omit=dev`) it keeps the dist/ already there, and fails only when there is none, since
// nothing could run.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let hasEsbuild = true;
try {
  require.resolve('esbuild');
} catch {
  hasEsbuild = false;
}
if (hasEsbuild) {
  await import('./build.mjs');
} else if (existsSync(new URL('../dist/cli.js', import.meta.url))) {
  console.log('prepare: esbuild is not installed (dev dependencies omitted); using the prebuilt dist/');
} else {
  console.error(
    'prepare: dist/ is missing and esbuild is not installed: run npm install (with dev dependencies) first',
  );
  process.exit(1);
}
