import { homedir } from 'node:os';
import { join, win32 } from 'node:path';

/**
 * Where `arcmon run` keeps the embedded store and the outage spool when no directory is given: systemd's
 * `StateDirectory=` (`$STATE_DIRECTORY`), else `%ProgramData%\arcmon` on Windows, `~/Library/Application
 * Support/arcmon` on macOS, `/var/lib/arcmon` for root and `$XDG_STATE_HOME/arcmon` (`~/.local/state/arcmon`) for
 * other users on Linux.
 */
export function defaultDataDir(
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
  isRoot: boolean = process.getuid?.() === 0,
): string {
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return fromSystemd;
  if (platform === 'win32') return win32.join(env.ProgramData ?? 'C:\\ProgramData', 'arcmon');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'arcmon');
  if (isRoot) return '/var/lib/arcmon';
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'arcmon');
}

/** The directory of one site: its embedded store (`azurite/`) and spool (`spool/`) live there, apart from others. */
export function siteDir(dataDir: string, site: string): string {
  return join(dataDir, 'sites', site.replace(/[^A-Za-z0-9._-]/g, '_'));
}
