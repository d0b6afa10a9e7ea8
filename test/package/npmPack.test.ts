import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * What `npm pack` ships for `npm install -g`: the launcher and the prebuilt bundles, nothing to build at install
 * time. The install itself (global, --omit=dev, run from /) is scripts/pack-check.sh, run by CI.
 */
const root = join(__dirname, '..', '..');
const run = promisify(execFile);

describe('the npm package', () => {
  it('ships bin/ and the prebuilt dist/ bundles, and no sources, tests or source maps', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const files = (pack?.files ?? []).map((f) => f.path).sort();
    expect(files).toEqual(
      expect.arrayContaining(['bin/arcmon.js', 'dist/cli.js', 'dist/appInsights.js', 'package.json', 'README.md']),
    );
    expect(files.filter((f) => /^(lib|test|functions|infra|scripts)\//.test(f) || f.endsWith('.map'))).toEqual([]);
  });

  it('needs no dev dependency at run time: the embedded store is a dependency, prepare keeps a prebuilt dist/', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).toContain('azurite');
    expect(pkg.devDependencies).not.toHaveProperty('azurite');
    expect(readFileSync(join(root, 'scripts', 'prepare.mjs'), 'utf8')).toContain("require.resolve('esbuild')");
    expect(pkg.scripts.prepack).toBe('node scripts/build.mjs');
  });
});
