import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { openTunnel } from './proxy';
import { connectTcp, hostPort } from './tcp';
import type { AddressAttempt, Finding, ProxyConfig, ResolvedAddress } from './types';

/** What opening a route gave: a byte stream to the target, or the finding that explains why not. */
export type RouteOutcome =
  | { ok: true; socket: net.Socket | Duplex; connectMs: number; proxyMs?: number; via: string }
  | { ok: false; finding: Finding; connectMs?: number; proxyMs?: number };

/**
 * One way to reach the target's port: straight to one of its addresses, or through the proxy. A route can be
 * opened again (the legacy TLS version check needs a second connection over the same path).
 */
export interface Route {
  /** For reports: `127.0.0.1`, `::1`, or the proxy's address once known. */
  readonly label: string;
  open(signal: AbortSignal): Promise<RouteOutcome>;
}

/** A direct TCP route to `address:port`. */
export function directRoute(address: ResolvedAddress, port: number): Route {
  return {
    label: address.address,
    async open(signal) {
      const tcp = await connectTcp(address.address, port, signal);
      return tcp.ok
        ? { ok: true, socket: tcp.socket, connectMs: tcp.durationMs, via: address.address }
        : { ok: false, finding: tcp.finding, connectMs: tcp.durationMs };
    },
  };
}

/** A CONNECT tunnel through `proxy` to `host:port`; the proxy resolves the name. */
export function proxyRoute(proxy: ProxyConfig, host: string, port: number): Route {
  return {
    label: `proxy ${proxy.url.host}`,
    async open(signal) {
      const tunnel = await openTunnel(proxy, host, port, signal);
      const proxyMs = tunnel.durationMs - (tunnel.connectMs ?? 0);
      if (!tunnel.ok) {
        return {
          ok: false,
          finding: tunnel.finding,
          proxyMs,
          ...(tunnel.connectMs === undefined ? {} : { connectMs: tunnel.connectMs }),
        };
      }
      return { ok: true, socket: tunnel.socket, connectMs: tunnel.connectMs, proxyMs, via: tunnel.proxyAddress };
    },
  };
}

/** Go's dialer waits this long for the first family before racing the other (net.Dialer.FallbackDelay). */
export const FALLBACK_DELAY_MS = 300;
/** Go never gives one address of a list less than this of the remaining deadline (net's partialDeadline). */
const MIN_ADDRESS_BUDGET_MS = 2000;

/** Outcome of {@link dialAddresses}. */
export interface Dialled {
  /** The first address that connected, with its socket; absent when none did. */
  winner?: { route: Route; address: ResolvedAddress; outcome: Extract<RouteOutcome, { ok: true }> };
  /** Every address's outcome known when the dial ended (all of them when none connected). */
  attempts: AddressAttempt[];
  /**
   * With a winner: the outcomes of the other addresses (attempts still in flight, and the ones never started,
   * now checked with a plain connect), resolved once all are known or `stopOthers()` is called, when the ones
   * still silent are recorded as TCP_TIMEOUT. Without a winner: resolves at once to [].
   */
  others: Promise<AddressAttempt[]>;
  stopOthers(): void;
  /** The first failure of the first family (what a user meets first in the DNS answer). */
  firstFailure?: Finding;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function attemptOf(address: ResolvedAddress, outcome: RouteOutcome): AddressAttempt {
  if (outcome.ok) return { address: address.address, family: address.family, ok: true, ms: round(outcome.connectMs) };
  return {
    address: address.address,
    family: address.family,
    ok: false,
    ms: round(outcome.connectMs ?? 0),
    code: outcome.finding.code,
    message: outcome.finding.message,
  };
}

/**
 * Connects to one of `addresses` the way Go's dialer does (RFC 6555/8305 style): the family of the first
 * address goes first, one address at a time, each given its share of the time left (at least 2 s); the other
 * family starts after {@link FALLBACK_DELAY_MS} or as soon as the first family has failed, and the first
 * connection wins. `deadlineAt` is the probe's deadline (performance.now() time); `signal` aborts everything.
 * Once one wins, the others are not cut off but finish in `others` (losing connections are closed), so every
 * address gets an outcome and a verdict does not depend on which one DNS listed first. Never rejects.
 */
export async function dialAddresses(
  addresses: readonly ResolvedAddress[],
  port: number,
  signal: AbortSignal,
  deadlineAt: number,
): Promise<Dialled> {
  const first = addresses[0];
  const none = { attempts: [], others: Promise.resolve([]), stopOthers: () => undefined };
  if (first === undefined) return none;
  // The common case, one address: nothing to share or race, so no extra signals or timers.
  if (addresses.length === 1) {
    const route = directRoute(first, port);
    const outcome = await route.open(signal);
    const attempts = [attemptOf(first, outcome)];
    return outcome.ok
      ? { ...none, attempts, winner: { route, address: first, outcome } }
      : { ...none, attempts, firstFailure: outcome.finding };
  }
  const others = new AbortController();
  const othersSignal = AbortSignal.any([signal, others.signal]);
  const primaries = addresses.filter((a) => a.family === first.family);
  const fallbacks = addresses.filter((a) => a.family !== first.family);
  const attempts: AddressAttempt[] = [];
  const late: Promise<AddressAttempt>[] = [];
  const started = new Set<ResolvedAddress>();
  const failures: { family: 4 | 6; finding: Finding }[] = [];
  let winner: Dialled['winner'];
  let announceWinner: () => void = () => undefined;
  const won = new Promise<void>((resolve) => (announceWinner = resolve));

  const serial = async (list: readonly ResolvedAddress[]): Promise<void> => {
    for (const [i, address] of list.entries()) {
      if (winner !== undefined || signal.aborted) return;
      started.add(address);
      const left = deadlineAt - performance.now();
      const share = Math.max(left / (list.length - i), Math.min(left, MIN_ADDRESS_BUDGET_MS));
      const route = directRoute(address, port);
      const opening = route.open(AbortSignal.any([othersSignal, AbortSignal.timeout(Math.max(1, Math.ceil(share)))]));
      // Whichever way the race goes, this attempt's outcome is kept: in `attempts` while the dial is on,
      // in `others` when another address has already won.
      const outcome = await opening;
      if (winner !== undefined) {
        if (outcome.ok) outcome.socket.destroy();
        late.push(Promise.resolve(attemptOf(address, outcome)));
        return;
      }
      attempts.push(attemptOf(address, outcome));
      if (outcome.ok) {
        winner = { route, address, outcome };
        announceWinner();
        return;
      }
      failures.push({ family: address.family, finding: outcome.finding });
    }
  };

  const primary = serial(primaries);
  const fallback =
    fallbacks.length === 0
      ? Promise.resolve()
      : (async () => {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            primary,
            won,
            new Promise<void>((resolve) => (timer = setTimeout(resolve, FALLBACK_DELAY_MS))),
          ]);
          clearTimeout(timer);
          await serial(fallbacks);
        })();
  const everyone = Promise.all([primary, fallback]);
  await Promise.race([everyone, won]);

  if (winner === undefined) {
    const firstFailure = (failures.find((f) => f.family === first.family) ?? failures[0])?.finding;
    return { ...none, attempts, ...(firstFailure ? { firstFailure } : {}) };
  }
  const untried = addresses.filter((a) => !started.has(a));
  const checks = checkAddresses(untried, port, othersSignal);
  return {
    winner,
    attempts,
    others: Promise.all([everyone, checks]).then(async ([, checked]) => [...(await Promise.all(late)), ...checked]),
    stopOthers: () => others.abort(),
  };
}

/**
 * Checks that each of `addresses` accepts a TCP connection (closed at once), in parallel. Stops waiting at
 * `signal`; an address still silent then is recorded as TCP_TIMEOUT.
 */
export async function checkAddresses(
  addresses: readonly ResolvedAddress[],
  port: number,
  signal: AbortSignal,
): Promise<AddressAttempt[]> {
  return Promise.all(
    addresses.map(async (address) => {
      const outcome = await directRoute(address, port).open(signal);
      if (outcome.ok) outcome.socket.destroy();
      return attemptOf(address, outcome);
    }),
  );
}

/** `addr:port` of an attempt, bracketed for IPv6. */
export function attemptTarget(attempt: AddressAttempt, port: number): string {
  return hostPort(attempt.address, port);
}
