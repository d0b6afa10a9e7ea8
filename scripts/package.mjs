// Builds the package that is deployed: the project's files as .funcignore selects them, with gitignore semantics
// (the `ignore` library, as ESLint uses it), zipped in a fixed order with fixed timestamps, so the same dist/ gives
// the same zip byte for byte. The same files are also staged, unzipped, in a folder azd deploys (azure.yaml `dist`):
// azd zips that folder itself and never sees the project's node_modules, sources or tests.
//
//   node scripts/package.mjs [--out <dir>] [--rules <ignore file>]
//
// Defaults: --out dist-package, --rules .funcignore. Run after scripts/build.mjs (`npm run package` does both).
// Fails, leaving no zip and no staging folder behind, when host.json, package.json or package.json's `main` would
// be missing: the host would start with no functions and say nothing about it.
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { zipSync } from 'fflate';
import ignore from 'ignore';

export const ZIP_NAME = 'arc-connectivity-monitor.zip';
/** Folder under the output directory holding the zip's files, unzipped; azure.yaml's `dist` points at it. */
export const STAGING_NAME = 'app';

// DOS timestamps hold local time; building the date from local fields gives 1980-01-01 00:00 in every time zone.
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);
// Unix "made by" and a plain rw-r--r-- file mode, so unzip on Linux gives ordinary files.
const ZIP_OS_UNIX = 3;
const FILE_ATTRS = 0o100644 << 16;

/** Error whose message is meant for the person running the script, printed without a stack. */
export class PackageError extends Error {}

const toPosix = (p) => p.split(sep).join('/');
const inside = (root, p) => {
  const rel = relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/**
 * Files under `root` that `rules` keep, as sorted POSIX paths relative to `root`. Directories the rules exclude are
 * not entered (as git does: nothing under an excluded directory can come back). `skip` lists directories (relative
 * to `root`) never to walk, whatever the rules say: the script's own output.
 */
export function selectFiles(root, rules, skip = []) {
  const ig = ignore().add(rules);
  const skipped = new Set(skip.map(toPosix));
  const seenDirs = new Set();
  const files = [];
  const walk = (dir) => {
    const real = realpathSync(dir);
    if (seenDirs.has(real)) return; // a symlink loop
    seenDirs.add(real);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, entry.name);
      const rel = toPosix(relative(root, abs));
      const isDir =
        entry.isDirectory() ||
        (entry.isSymbolicLink() && (statSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false));
      if (isDir) {
        if (!skipped.has(rel) && !ig.ignores(`${rel}/`)) walk(abs);
      } else if (!ig.ignores(rel)) {
        files.push(rel);
      }
    }
  };
  walk(root);
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The files the Functions host needs at the root of the package: host.json, package.json and its `main`. */
export function requiredFiles(root) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (typeof manifest.main !== 'string' || manifest.main.trim() === '') {
    throw new PackageError('package: package.json has no "main"; the Functions host loads the app from it');
  }
  const main = toPosix(manifest.main.trim()).replace(/^\.\//, '');
  return ['host.json', 'package.json', main];
}

/**
 * Selects, checks, zips and stages the package. Returns what went in. Throws PackageError when a required file
 * would be missing; the output of an earlier run is removed first, so a failed run leaves nothing to deploy.
 */
export function buildPackage({ root, rulesFile = join(root, '.funcignore'), outDir = join(root, 'dist-package') }) {
  const zipPath = join(outDir, ZIP_NAME);
  const stagingDir = join(outDir, STAGING_NAME);
  rmSync(zipPath, { force: true });
  rmSync(stagingDir, { recursive: true, force: true });

  if (!existsSync(rulesFile)) {
    throw new PackageError(`package: ${rulesFile} not found; without it the whole project would be deployed`);
  }
  const rules = readFileSync(rulesFile, 'utf8');
  const skip = inside(root, outDir) ? [relative(root, outDir)] : [];
  const selected = selectFiles(root, rules, skip);

  const missing = requiredFiles(root).filter((f) => !selected.includes(f));
  if (missing.length > 0) {
    const reasons = missing.map((f) =>
      existsSync(join(root, f))
        ? `  ${f}: excluded by ${inside(root, rulesFile) ? relative(root, rulesFile) : rulesFile}`
        : `  ${f}: not on disk (run \`npm run build\` first?)`,
    );
    throw new PackageError(
      [
        'package: the zip would not contain every file the Functions host needs, so it would start no functions:',
        ...reasons,
        'In gitignore rules a file cannot be re-included while a directory above it is excluded: re-include each',
        'directory on the way ("!/dist/"), exclude its contents again ("/dist/*"), then re-include the files.',
      ].join('\n'),
    );
  }

  const entries = {};
  const files = [];
  for (const rel of selected) {
    const data = readFileSync(join(root, rel));
    entries[rel] = [data, { mtime: FIXED_MTIME, os: ZIP_OS_UNIX, attrs: FILE_ATTRS }];
    files.push({ path: rel, bytes: data.length });
  }
  const zip = zipSync(entries, { level: 6 });

  mkdirSync(outDir, { recursive: true });
  for (const rel of selected) {
    const target = join(stagingDir, rel);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entries[rel][0]);
  }
  writeFileSync(zipPath, zip);

  return {
    zipPath,
    stagingDir,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    zipBytes: zip.length,
  };
}

function main() {
  const { values } = parseArgs({ options: { out: { type: 'string' }, rules: { type: 'string' } } });
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const result = buildPackage({
    root,
    ...(values.rules ? { rulesFile: resolve(values.rules) } : {}),
    ...(values.out ? { outDir: resolve(values.out) } : {}),
  });
  const show = (p) => relative(process.cwd(), p) || '.';
  const width = Math.max(...result.files.map((f) => f.path.length));
  for (const f of result.files)
    console.log(`  ${f.path.padEnd(width)}  ${f.bytes.toLocaleString('en-US').padStart(12)}`);
  console.log(
    `package: ${result.files.length} files, ${result.bytes.toLocaleString('en-US')} bytes -> ` +
      `${show(result.zipPath)} (${result.zipBytes.toLocaleString('en-US')} bytes); ` +
      `the same files for azd in ${show(result.stagingDir)}`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    if (!(err instanceof PackageError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
  }
}
