/**
 * How the test process drives the servers it starts inside the rig's namespaces. A process cannot move itself into
 * another network namespace, so each namespace gets an agent: a child started with `ip netns exec` (which keeps
 * Node's IPC channel, fd 3, open across the exec). The agent runs one role and answers typed calls over that channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A role's operations: each takes one JSON argument and returns JSON (or a promise of it). */
export type Operations<O> = { [K in keyof O]: (arg: never) => unknown };

/** What an agent's role module returns once started. */
export interface RoleInstance<O extends Operations<O>> {
  ops: O;
  close(): Promise<void>;
}

export type AgentMessage =
  | { type: 'ready' }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

export type ParentMessage = { type: 'init'; init: unknown } | { type: 'call'; id: number; op: string; arg: unknown };

/** The test side of one agent. */
export interface AgentClient<O extends Operations<O>> {
  readonly namespace: string;
  readonly role: string;
  readonly pid: number;
  call<K extends keyof O & string>(op: K, arg: Parameters<O[K]>[0]): Promise<Awaited<ReturnType<O[K]>>>;
  /** The agent's recent stderr (for failure messages). */
  stderr(): string;
  /** Asks the agent to close its role and exit; kills it after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnAgentOptions {
  namespace: string;
  role: string;
  /** The command line after `ip netns exec <ns>`: node, its flags, the agent entry and the role. */
  command: string[];
  env: Record<string, string>;
  cwd: string;
  init: unknown;
  /** How long the role may take to start. Default 60000 ms. */
  startTimeoutMs?: number;
}

/** Starts an agent in a namespace and resolves once its role is ready. */
export async function spawnAgent<O extends Operations<O>>(opts: SpawnAgentOptions): Promise<AgentClient<O>> {
  const [cmd = 'node', ...args] = opts.command;
  const child: ChildProcess = spawn('ip', ['netns', 'exec', opts.namespace, cmd, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-16_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const what = `${opts.role} agent in ${opts.namespace}`;

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${what} did not start within ${opts.startTimeoutMs ?? 60_000} ms:\n${log}`));
      child.kill('SIGKILL');
    }, opts.startTimeoutMs ?? 60_000);
    child.on('message', (raw) => {
      const message = raw as AgentMessage;
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(`${what}: ${message.error}`));
      }
    });
    child.once('exit', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      const error = new Error(`${what} exited (code ${String(code)}, signal ${String(signal)}):\n${log}`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  child.send({ type: 'init', init: opts.init } satisfies ParentMessage);
  await ready;

  return {
    namespace: opts.namespace,
    role: opts.role,
    pid: child.pid ?? -1,
    call(op, arg) {
      if (exited) return Promise.reject(new Error(`${what} is not running:\n${log}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ type: 'call', id, op, arg } satisfies ParentMessage);
      });
    },
    stderr: () => log,
    async stop(graceMs = 10_000) {
      if (exited) return;
      // Closing the channel is the agent's signal to close its role and exit.
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/** A started role as the agent sees it: operations looked up by name. */
export interface StartedRole {
  ops: object;
  close(): Promise<void>;
}

/** Starts a role from its init message. */
export type RoleStarter = (init: never) => Promise<StartedRole>;

/**
 * The agent side: on the first message loads the role (`load`) and starts it, then answers calls until the channel
 * closes. Listens at once, so no message is lost while the role module loads.
 */
export function serveRole(load: () => Promise<RoleStarter>): void {
  let instance: StartedRole | undefined;
  const send = (message: AgentMessage) => process.send?.(message);
  process.on('message', (raw) => {
    const message = raw as ParentMessage;
    if (message.type === 'init') {
      load()
        .then((start) => start(message.init as never))
        .then(
          (started) => {
            instance = started;
            send({ type: 'ready' });
          },
          (err: unknown) => {
            process.stderr.write(
              `role failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
            );
            process.exit(1);
          },
        );
      return;
    }
    // The ops table is keyed by the op names the parent typed against; the argument crossed the channel as JSON.
    const ops = instance?.ops as Record<string, unknown> | undefined;
    const op = ops?.[message.op];
    if (typeof op !== 'function') {
      send({ type: 'reply', id: message.id, ok: false, error: `no operation ${message.op}` });
      return;
    }
    Promise.resolve()
      .then(() => (op as (arg: unknown) => unknown).call(ops, message.arg))
      .then(
        (value) => send({ type: 'reply', id: message.id, ok: true, value: value ?? null }),
        (err: unknown) =>
          send({
            type: 'reply',
            id: message.id,
            ok: false,
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      );
  });
  process.on('disconnect', () => {
    const closing = instance ? instance.close() : Promise.resolve();
    const forced = setTimeout(() => process.exit(0), 8000);
    forced.unref();
    closing.then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
