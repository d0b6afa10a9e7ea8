/**
 * azd's preprovision hook (infra/hooks/preprovision.sh), run as azd runs it. The Azure CLI it calls is the one part
 * that cannot run here (it talks to the control plane): a stand-in `az` on an otherwise empty PATH records its
 * arguments and answers like the real one.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { INFRA_DIR } from './infraSource';

const HOOK = join(INFRA_DIR, 'hooks', 'preprovision.sh');
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A PATH holding only a stand-in `az` that logs its arguments and reports `state` for the provider. */
function fakeAz(state: string | undefined): { path: string; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'arcmon-az-'));
  dirs.push(dir);
  const log = join(dir, 'calls.log');
  if (state !== undefined) {
    const script = join(dir, 'az');
    writeFileSync(script, `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$2" = "show" ]; then echo '${state}'; fi\nexit 0\n`);
    chmodSync(script, 0o755);
  }
  return {
    path: dir,
    calls: () => {
      try {
        return readFileSync(log, 'utf8').trim().split('\n');
      } catch {
        return [];
      }
    },
  };
}

function runHook(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', [HOOK], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the azd preprovision hook', () => {
  it('stops when no one would receive the alerts', async () => {
    const az = fakeAz('Registered');
    const r = await runHook({ PATH: az.path, AZURE_SUBSCRIPTION_ID: 'sub-1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ARCMON_ALERT_EMAIL is not set');
    expect(r.stderr).toContain('azd env set ARCMON_ALERT_EMAIL ops@contoso.com');
    expect(az.calls()).toEqual([]);
  });

  it("registers Microsoft.App in azd's subscription when it is not registered", async () => {
    const az = fakeAz('NotRegistered');
    const r = await runHook({ PATH: az.path, AZURE_SUBSCRIPTION_ID: 'sub-1', ARCMON_ALERT_EMAIL: 'ops@contoso.com' });
    expect(r.code).toBe(0);
    expect(az.calls()).toEqual([
      'provider show --namespace Microsoft.App --subscription sub-1 --query registrationState --output tsv',
      'provider register --namespace Microsoft.App --subscription sub-1 --wait',
    ]);
  });

  it('leaves a registered provider alone', async () => {
    const az = fakeAz('Registered');
    const r = await runHook({ PATH: az.path, AZURE_SUBSCRIPTION_ID: 'sub-1', ARCMON_ALERT_EMAIL: 'ops@contoso.com' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Microsoft.App is registered in subscription sub-1');
    expect(az.calls()).toHaveLength(1);
  });

  it('fails without the Azure CLI unless told the provider was registered by hand', async () => {
    const none = fakeAz(undefined);
    const env = { PATH: none.path, AZURE_SUBSCRIPTION_ID: 'sub-1', ARCMON_ALERT_EMAIL: 'ops@contoso.com' };
    const r = await runHook(env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the Azure CLI (az) is not installed');
    expect((await runHook({ ...env, ARCMON_SKIP_PROVIDER_REGISTRATION: 'true' })).code).toBe(0);
  });
});
