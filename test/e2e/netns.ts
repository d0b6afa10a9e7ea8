/**
 * Shell-level plumbing of the rig: network namespaces, their resolv.conf and nftables rulesets. Everything here
 * acts only on namespaces whose names start with {@link RIG_PREFIX} and carry the creating process id, so a rig
 * never touches the host's own network and a crashed run's leftovers can be recognised and removed.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

/** Every rig namespace is called `arcmon-<pid>-<n>-<role>`. */
export const RIG_PREFIX = 'arcmon-';
const RIG_NAME = /^arcmon-(\d+)-\d+-[a-z]+$/;

/** Runs a command and resolves with its stdout; rejects with the command line and its stderr. */
export function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 20_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing both streams and the exit status; rejects only when it cannot start. */
export function capture(
  cmd: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : -1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** Runs `ip` inside namespace `ns` (`ip -n ns ...`). */
export function ipIn(ns: string, ...args: string[]): Promise<string> {
  return run('ip', ['-n', ns, ...args]);
}

/** Runs a command inside namespace `ns` (`ip netns exec ns cmd ...`). */
export function execIn(ns: string, cmd: string, args: readonly string[], input?: string): Promise<string> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

/**
 * Replaces nftables tables in namespace `ns` atomically (one `nft -f` transaction): each table named in `tables`
 * is created if missing, deleted, and written anew from `ruleset`. Other tables (and their counters) stay.
 */
export function replaceTables(ns: string, tables: readonly string[], ruleset: string): Promise<string> {
  const reset = tables.map((t) => `add table ${t}\ndelete table ${t}`).join('\n');
  return execIn(ns, 'nft', ['-f', '-'], `${reset}\n${ruleset}\n`);
}

export type Support = { ok: true } | { ok: false; reason: string };

/**
 * Whether this machine can build the rig: root, `ip netns` (kernel network namespaces), veth pairs and nftables.
 * Tries each for real in a throw-away namespace and reports the first thing that failed, in words.
 */
export function rigSupport(): Support {
  const probe = `${RIG_PREFIX}${process.pid}-0-probe`;
  const step = (what: string, cmd: string, args: string[]): string | undefined => {
    try {
      execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      return undefined;
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
      return `${what} failed (${cmd} ${args.join(' ')}: ${stderr || (err as Error).message})`;
    }
  };
  if (process.platform !== 'linux')
    return { ok: false, reason: `network namespaces need Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the rig needs root (ip netns, nftables)' };
  const problem =
    step('creating a network namespace', 'ip', ['netns', 'add', probe]) ??
    step('creating a veth pair', 'ip', ['-n', probe, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'b0']) ??
    step('loading an nftables ruleset', 'ip', ['netns', 'exec', probe, 'nft', 'add', 'table', 'inet', 'probe']);
  destroyNamespaceSync(probe);
  return problem ? { ok: false, reason: problem } : { ok: true };
}

/** Creates a namespace with its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name]);
  await ipIn(name, 'link', 'set', 'lo', 'up');
}

/** Gives namespace `ns` its own /etc/resolv.conf (bind-mounted by `ip netns exec`). */
export function writeResolvConf(ns: string, nameserver: string): void {
  mkdirSync(`/etc/netns/${ns}`, { recursive: true });
  writeFileSync(`/etc/netns/${ns}/resolv.conf`, `nameserver ${nameserver}\noptions timeout:1 attempts:1\n`);
}

function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Removes a rig namespace synchronously (usable from exit handlers): kills the processes the rig started inside it
 * (listed by the kernel, by id), deletes it, with the veth ends inside, and its /etc/netns directory.
 */
export function destroyNamespaceSync(name: string): void {
  if (!name.startsWith(RIG_PREFIX)) throw new Error(`refusing to remove ${name}: not a rig namespace`);
  for (const pid of pidsIn(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // not there (never created, or removed already)
  }
  rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces left by earlier rig runs whose process is gone (a run killed before its teardown). */
export function sweepStaleRigs(): string[] {
  let listing = '';
  try {
    listing = execFileSync('ip', ['netns', 'list'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return [];
  }
  const stale = listing
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => {
      const owner = RIG_NAME.exec(name)?.[1];
      return owner !== undefined && Number(owner) !== process.pid && !alive(Number(owner));
    });
  for (const name of stale) destroyNamespaceSync(name);
  return stale;
}
