import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_SETTINGS } from '../lib/config/settings';
import { FAILURE_CODES, FAILURE_CODE_LIST } from '../lib/probes/types';

/** The README is the front door: what it says about codes and settings must stay true. */
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

function tableRows(headerStart: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.startsWith(headerStart));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe('README', () => {
  it('documents every failure code with its phase, and no code that does not exist', () => {
    const rows = tableRows('| Code ');
    const documented = rows.map((r) => (r[0] ?? '').replace(/`/g, ''));
    expect([...documented].sort()).toEqual([...FAILURE_CODE_LIST].sort());
    for (const r of rows) {
      const code = (r[0] ?? '').replace(/`/g, '') as keyof typeof FAILURE_CODES;
      expect(r[1], code).toBe(FAILURE_CODES[code].phase);
    }
  });

  it('documents every app setting the schema reads, and none it does not', () => {
    const rows = tableRows('| Setting ');
    const documented = rows.flatMap((r) => (r[0] ?? '').split(',').map((c) => c.replace(/`/g, '').trim()));
    expect([...documented].sort()).toEqual([...KNOWN_SETTINGS].sort());
  });

  it('starts with the two commands a newcomer runs, and they exist', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toMatch(/^npm install && npx arcmon check/m);
    expect(firstBlock).toMatch(/^npm test/m);
    expect(pkg.bin.arcmon).toBe('bin/arcmon.js');
    expect(pkg.scripts.test).toBe('vitest run');
    expect(pkg.scripts.prepare).toBe('node scripts/prepare.mjs');
  });
});
