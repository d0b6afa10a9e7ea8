/**
 * The rig itself, checked with plain tools (curl, nft, ip) before any scenario relies on it: the simulated network
 * is sealed off from the host, the forwarder answers the catalog's names, the fake endpoints answer like the real
 * hosts with an Azure-shaped chain, and each knob (drop, reject, private-link zone, inspection, proxy) does what the
 * scenarios assume.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { capture, execIn } from './netns';
import { INSPECTION_CA, PROXY_CREDENTIALS, createRig, describeWithRig, type Rig } from './rig';
import { PLAN } from './world';

interface Curl {
  status: string;
  exit: number;
  stderr: string;
  issuer: string;
}

describeWithRig('the rig (checked with curl and nft)', () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await createRig();
  }, 120_000);
  afterEach(async () => {
    await rig?.reset();
  });
  afterAll(async () => {
    await rig?.close();
  });

  /** curl from the monitor's namespace, trusting only the rig's Azure-like root (or what `cacert` names). */
  async function curl(url: string, extra: string[] = [], cacert = rig.files.expectedRoots): Promise<Curl> {
    const curlArgs = ['-sS', '-v', '-o', '/dev/null', '--max-time', '3', '--cacert', cacert, '-w', '%{http_code}'];
    const r = await capture('ip', ['netns', 'exec', rig.names.monitor, 'curl', ...curlArgs, ...extra, url]);
    return {
      status: r.code === 0 ? r.stdout.trim() : '',
      exit: r.code,
      stderr: r.stderr,
      issuer: /issuer: (.*)/.exec(r.stderr)?.[1] ?? '',
    };
  }

  it('has no route out of the rig: the monitor reaches only rig addresses', async () => {
    const routes = await execIn(rig.names.monitor, 'ip', ['route', 'show']);
    expect(routes).toContain(`default via ${PLAN.gateway}`);
    const gatewayRoutes = await execIn(rig.names.gateway, 'ip', ['route', 'show']);
    expect(gatewayRoutes).not.toContain('default');
    const internetRoutes = await execIn(rig.names.internet, 'ip', ['route', 'show']);
    expect(internetRoutes).not.toContain('default');
    // The host's own gateway answers nothing from inside: the packet dies at the rig's router, which notes it.
    expect(await rig.strayDestinations()).toEqual([]);
    const out = await curl('http://192.0.2.1/', ['--connect-timeout', '1']);
    expect(out.status).toBe('');
    expect(await rig.strayDestinations()).toEqual(['192.0.2.1']);
  });

  it.each([
    ['gbl.his.arc.azure.com', '400'],
    ['eus.his.arc.azure.com', '200'],
    ['agentserviceapi.guestconfiguration.azure.com', '404'],
    ['eastus-gas.guestconfiguration.azure.com', '404'],
    ['eastus.dp.prod.appliances.azure.com', '401'],
    ['login.microsoftonline.com', '200'],
  ])('resolves %s through resolv.conf and answers %s over TLS with the Azure-like chain', async (host, status) => {
    const out = await curl(`https://${host}/`);
    expect(out.status).toBe(status);
    expect(out.issuer).toContain('arcmon Test Azure RSA TLS Issuing CA 03');
  });

  it('drops, rejects and allows again', async () => {
    await rig.firewall.drop(['login.microsoftonline.com']);
    expect((await curl('https://login.microsoftonline.com/', ['--connect-timeout', '1'])).exit).toBe(28);
    await rig.firewall.reject(['login.microsoftonline.com']);
    expect((await curl('https://login.microsoftonline.com/')).exit).toBe(7);
    await rig.firewall.allow(['login.microsoftonline.com']);
    expect((await curl('https://login.microsoftonline.com/')).status).toBe('200');
  });

  it('switches the private-link zone between private and public answers', async () => {
    const host = rig.host('gbl.his.arc.azure.com');
    const resolve = () => execIn(rig.names.monitor, 'getent', ['ahostsv4', host.name]);
    expect(await resolve()).toContain(host.publicAddress);
    await rig.dns.privateLinkZone(true);
    expect(await resolve()).toContain(host.privateAddress);
    expect((await curl(`https://${host.name}/`)).status).toBe('400');
    await rig.dns.privateLinkZone(false);
    expect(await resolve()).toContain(host.publicAddress);
  });

  it('inspects one host with the customer CA, transparently', async () => {
    await rig.inspect(['agentserviceapi.guestconfiguration.azure.com'], true);
    const inspected = await curl('https://agentserviceapi.guestconfiguration.azure.com/', [], rig.files.extraCa);
    expect(inspected.status).toBe('404');
    expect(inspected.issuer).toContain(INSPECTION_CA);
    // Only the Azure-like root: the re-signed chain is not trusted.
    expect((await curl('https://agentserviceapi.guestconfiguration.azure.com/')).exit).toBe(60);
    expect((await curl('https://eastus-gas.guestconfiguration.azure.com/')).status).toBe('404');
    await rig.inspect(['agentserviceapi.guestconfiguration.azure.com'], false);
    expect((await curl('https://agentserviceapi.guestconfiguration.azure.com/')).status).toBe('404');
  });

  it('proxies CONNECT, demands authentication, refuses; direct egress can be closed', async () => {
    await rig.firewall.directEgress(false);
    expect((await curl('https://login.windows.net/', ['--connect-timeout', '1'])).exit).toBe(28);
    expect((await curl('https://login.windows.net/', ['--proxy', rig.proxyUrl])).status).toBe('200');
    await rig.proxyMode('auth');
    const denied = await curl('https://login.windows.net/', ['--proxy', rig.proxyUrl]);
    expect(denied.exit).toBe(56);
    expect(denied.stderr).toContain('407');
    const [user, password] = PROXY_CREDENTIALS.split(':');
    const withCredentials = await curl('https://login.windows.net/', [
      '--proxy',
      `http://${user}:${password}@${PLAN.gateway}:${PLAN.proxyPort}`,
    ]);
    expect(withCredentials.status).toBe('200');
    await rig.proxyMode('refuse');
    expect((await curl('https://login.windows.net/', ['--proxy', rig.proxyUrl])).stderr).toContain('403');
    await rig.reset();
    expect((await curl('https://login.windows.net/')).status).toBe('200');
  });
});
