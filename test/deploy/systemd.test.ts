import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../lib/cli/dataDir';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

describe('the systemd unit (deploy/arcmon.service)', () => {
  it('passes systemd-analyze verify without a single warning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcmon-unit-'));
    try {
      // verify checks that ExecStart exists: point it at this checkout's launcher instead of /usr/local/bin.
      const unit = (await readFile(join(root, 'deploy', 'arcmon.service'), 'utf8')).replace(
        '/usr/local/bin/arcmon',
        join(root, 'bin', 'arcmon.js'),
      );
      await writeFile(join(dir, 'arcmon.service'), unit);
      const { stderr } = await run('systemd-analyze', ['verify', join(dir, 'arcmon.service')], { cwd: dir });
      expect(stderr).toBe('');
      expect(unit).toMatch(/^KillSignal=SIGINT$/m);
      expect(unit).toMatch(/^SuccessExitStatus=130$/m);
      expect(unit).toMatch(/^StateDirectory=arcmon$/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the data where the unit says: $STATE_DIRECTORY, else a per-OS default', () => {
    expect(defaultDataDir({ STATE_DIRECTORY: '/var/lib/arcmon' }, 'linux', '/home/a', false)).toBe('/var/lib/arcmon');
    expect(defaultDataDir({}, 'linux', '/root', true)).toBe('/var/lib/arcmon');
    expect(defaultDataDir({}, 'linux', '/home/a', false)).toBe('/home/a/.local/state/arcmon');
    expect(defaultDataDir({ XDG_STATE_HOME: '/x' }, 'linux', '/home/a', false)).toBe('/x/arcmon');
    expect(defaultDataDir({ ProgramData: 'D:\\ProgramData' }, 'win32', 'C:\\Users\\a', false)).toBe(
      'D:\\ProgramData\\arcmon',
    );
  });
});
