import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What ships: scripts/package.mjs builds the zip from dist/ and .funcignore (npm test builds dist/ first). The zip
 * is unpacked into an empty directory under the system temp dir, where no node_modules can be found by walking up,
 * and a child node loads package.json's `main` from it, as the Functions worker would. The worker's own module,
 * @azure/functions-core, is the one thing the child stands in for; it records what the app registers.
 */

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const packageScript = join(root, 'scripts', 'package.mjs');

interface Binding {
  type: string;
  direction: string;
  schedule?: string;
  methods?: string[];
  route?: string;
}
interface LoadReport {
  registrations: { name: string; bindings: Record<string, Binding>; handler: string }[];
  programmingModel: { name: string; version: string } | null;
  loaded: string[];
  missing: { from: string; specifier: string }[];
  outside: { request: string; file: string }[];
}

/** Preload for the child: answers require('@azure/functions-core') and notes anything resolved outside the site. */
const CORE_STAND_IN = String.raw`'use strict';
const Module = require('node:module');
const path = require('node:path');
const site = process.cwd() + path.sep;
const harness = __dirname + path.sep;
const report = { registrations: [], programmingModel: null, outside: [] };
let model;
const core = {
  registerFunction(metadata, handler) {
    report.registrations.push({ name: metadata.name, bindings: metadata.bindings, handler: typeof handler });
    return { dispose() {} };
  },
  setProgrammingModel(m) { model = m; report.programmingModel = { name: m.name, version: m.version }; },
  getProgrammingModel() { return model; },
  registerHook() { return { dispose() {} }; },
  log() {},
  report,
};
const id = path.join(harness, 'functions-core-stand-in');
const stub = new Module(id);
stub.filename = id;
stub.loaded = true;
stub.exports = core;
Module._cache[id] = stub;
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@azure/functions-core') return id;
  const file = resolveFilename.call(this, request, ...rest);
  if (!Module.isBuiltin(file) && !file.startsWith(site) && !file.startsWith(harness)) report.outside.push({ request, file });
  return file;
};
`;

/**
 * The child's main: loads package.json's main, then every bundle a loaded bundle imports by relative path (the
 * sinks and the Application Insights SDK are imported lazily at run time; loading them here proves they resolve),
 * and prints what the stand-in saw.
 */
const LOADER = String.raw`'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { report } = require('@azure/functions-core');
const site = process.cwd();
const rel = (f) => path.relative(site, f).split(path.sep).join('/');
const { main } = JSON.parse(fs.readFileSync(path.join(site, 'package.json'), 'utf8'));
const queue = [path.resolve(site, main)];
const loaded = [];
const missing = [];
while (queue.length > 0) {
  const file = queue.shift();
  if (loaded.includes(rel(file))) continue;
  require(file);
  loaded.push(rel(file));
  for (const [, specifier] of fs.readFileSync(file, 'utf8').matchAll(/\b(?:import|require)\("(\.\.?\/[^"]+)"\)/g)) {
    const target = path.resolve(path.dirname(file), specifier);
    if (fs.existsSync(target)) queue.push(target);
    else missing.push({ from: rel(file), specifier });
  }
}
process.stdout.write(JSON.stringify({ ...report, loaded, missing }), () => process.exit(0));
`;

describe('the deployed package', () => {
  let work: string;
  let zipped: Record<string, Uint8Array>;
  let summary: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'arcmon-package-'));
    ({ stdout: summary } = await run(process.execPath, [packageScript, '--out', join(work, 'out')], { cwd: root }));
    zipped = unzipSync(await readFile(join(work, 'out', 'arc-connectivity-monitor.zip')));
    for (const [name, data] of Object.entries(zipped)) {
      await mkdir(dirname(join(work, 'site', name)), { recursive: true });
      await writeFile(join(work, 'site', name), data);
    }
    await mkdir(join(work, 'harness'));
    await mkdir(join(work, 'home'));
    await writeFile(join(work, 'harness', 'core-stand-in.cjs'), CORE_STAND_IN);
    await writeFile(join(work, 'harness', 'load.cjs'), LOADER);
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('holds host.json, package.json and the three bundles the app loads, and nothing else', () => {
    const names = Object.keys(zipped).sort();
    expect(names).toEqual([
      'dist/appInsights.js',
      'dist/functions/index.js',
      'dist/functions/sinks.js',
      'host.json',
      'package.json',
    ]);
    expect(names.filter((n) => /(^|\/)node_modules\/|\.ts$|^test\/|^infra\/|\.map$/.test(n))).toEqual([]);
    expect(summary).toContain('package: 5 files');
  });

  it('stages the same files, byte for byte, in the folder azd deploys', () => {
    for (const [name, data] of Object.entries(zipped)) {
      expect(Buffer.compare(readFileSync(join(work, 'out', 'app', name)), Buffer.from(data)), name).toBe(0);
    }
  });

  it('loads on its own, with no node_modules anywhere, and registers probeCycle, retention and status', async () => {
    const site = join(work, 'site');
    expect(existsSync(join(site, 'node_modules'))).toBe(false);
    const { stdout } = await run(
      process.execPath,
      ['--require', join(work, 'harness', 'core-stand-in.cjs'), join(work, 'harness', 'load.cjs')],
      // Only PATH and an empty HOME (Node also looks in ~/.node_modules): no NODE_PATH, no NODE_OPTIONS.
      { cwd: site, env: { PATH: process.env.PATH ?? '', HOME: join(work, 'home') }, timeout: 15_000 },
    );
    const report = JSON.parse(stdout) as LoadReport;

    expect(report.loaded).toEqual(['dist/functions/index.js', 'dist/functions/sinks.js', 'dist/appInsights.js']);
    expect(report.missing).toEqual([]);
    expect(report.outside).toEqual([]);
    expect(report.programmingModel?.name).toBe('@azure/functions');

    const triggers = report.registrations.map(({ name, bindings, handler }) => {
      const trigger = Object.values(bindings).find((b) => b.direction === 'in' && b.type.endsWith('Trigger'));
      return { name, handler, type: trigger?.type, schedule: trigger?.schedule, methods: trigger?.methods };
    });
    expect(triggers).toEqual([
      { name: 'probeCycle', handler: 'function', type: 'timerTrigger', schedule: '%PROBE_SCHEDULE%' },
      { name: 'retention', handler: 'function', type: 'timerTrigger', schedule: expect.any(String) as string },
      { name: 'status', handler: 'function', type: 'httpTrigger', methods: ['GET'] },
    ]);
  });

  it('refuses to build a zip without the functions when .funcignore cannot re-include them (the old "*" rules)', async () => {
    const rules = join(work, 'old.funcignore');
    await writeFile(rules, '*\n!dist/**\n!host.json\n!package.json\n');
    const failed = await run(process.execPath, [packageScript, '--rules', rules, '--out', join(work, 'bad')], {
      cwd: root,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );

    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`dist/functions/index.js: excluded by ${rules}`);
    expect(existsSync(join(work, 'bad', 'arc-connectivity-monitor.zip'))).toBe(false);
  });
});
