import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { AzuriteHandle, AzuriteOptions } from '../../lib/store/azurite';
import { startAzurite } from '../../lib/store/azurite';

/**
 * One Azurite table service for a whole test file: in memory on a free port unless `opts` says otherwise,
 * started in `beforeAll`, stopped in `afterAll`. Read `.handle` inside tests and hooks.
 */
export function sharedAzurite(opts: AzuriteOptions = {}): { readonly handle: AzuriteHandle } {
  let handle: AzuriteHandle | undefined;
  beforeAll(async () => {
    handle = await startAzurite({ port: 0, ...opts });
  });
  afterAll(async () => {
    await handle?.stop();
  });
  return {
    get handle(): AzuriteHandle {
      if (!handle) throw new Error('sharedAzurite: read .handle inside a test or hook');
      return handle;
    },
  };
}

/** A table prefix no other test uses, so tests sharing an Azurite do not see each other's rows. */
export function uniqueTablePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}
