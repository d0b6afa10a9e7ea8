/**
 * Entry of a rig agent: `node --import tsx test/e2e/agent.ts <role>`, started inside a namespace by the rig with
 * `ip netns exec`. Each role lives in its own module, loaded on demand so an agent loads only what it serves.
 */
import { serveRole, type RoleStarter } from './ipc';

const ROLES: Record<string, () => Promise<RoleStarter>> = {
  internet: () => import('./roles/internet').then((m) => m.startInternet),
  gateway: () => import('./roles/gateway').then((m) => m.startGateway),
  monitor: () => import('./roles/monitor').then((m) => m.startMonitor),
};

const role = process.argv[2] ?? '';
const load = ROLES[role];
if (!load || !process.send) {
  process.stderr.write(
    `usage: node --import tsx test/e2e/agent.ts <${Object.keys(ROLES).join('|')}> (with an IPC channel)\n`,
  );
  process.exit(2);
}
serveRole(load);
