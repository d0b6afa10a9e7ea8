import type { FailureCode, Finding, Phase, ProbeResult, Severity, Verdict } from './types';
import { FAILURE_CODES } from './types';

/**
 * Builds a finding for a code. Phase and severity default to the code's own (FAILURE_CODES); a caller
 * overrides severity only where the target decides it (TLS_INTERCEPTED on the resource bridge is blocking).
 */
export function finding(
  code: FailureCode,
  message: string,
  override?: { severity?: Severity; phase?: Phase },
): Finding {
  const info = FAILURE_CODES[code];
  return { code, phase: override?.phase ?? info.phase, severity: override?.severity ?? info.severity, message };
}

/** The verdict a set of findings implies: any blocking → blocked, else any degrading → degraded, else reachable. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  if (findings.some((f) => f.code === 'WILDCARD_UNRESOLVED')) return 'skipped';
  if (findings.some((f) => f.severity === 'blocking')) return 'blocked';
  if (findings.length > 0) return 'degraded';
  return 'reachable';
}

/** The finding that decided the verdict: the first blocking one, else the first degrading one. */
export function decisiveFinding(findings: readonly Finding[]): Finding | undefined {
  return findings.find((f) => f.severity === 'blocking') ?? findings[0];
}

/** Completes a result: sets verdict and failure from its findings. */
export function settle(partial: Omit<ProbeResult, 'verdict' | 'failure'>): ProbeResult {
  const failure = decisiveFinding(partial.findings);
  return { ...partial, verdict: verdictOf(partial.findings), ...(failure ? { failure } : {}) };
}
