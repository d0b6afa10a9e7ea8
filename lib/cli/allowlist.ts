import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { applyUserConfig, CATALOG, ConfigError, parseUserConfig, resolveScenarios } from '../catalog';
import { CLOUDS, type Cloud } from '../catalog/types';
import { buildAllowlist } from '../rules/allowlist';
import { ALLOWLIST_FORMATS, formatAllowlist, type AllowlistFormat } from '../rules/formats';
import type { CheckIo } from './check';

export const ALLOWLIST_USAGE = `Usage: arcmon allowlist --format F [options]

Writes what a firewall or proxy must allow for Azure Arc, from the same catalog arcmon check probes. Nothing is
sent on the network.

Formats (--format):
  azure-firewall-bicep  a Bicep module: a rule collection group for an existing Azure Firewall policy
  azure-firewall-json   the rule collections as ARM JSON (main.bicep's arcFirewallRules.ruleCollections)
  nsg-bicep             a Bicep module: outbound rules by service tag for an existing network security group
  squid                 Squid ACLs (dstdomain, dstdom_regex, ports) to include before "http_access deny all"
  pac                   a proxy auto-configuration file (needs --proxy-address)
  fqdn                  one name per line
  csv                   host, pattern, port, transport, protocol, requirement, purpose, service tags

Options:
  --cloud C             AzureCloud (default), AzureUSGovernment or AzureChinaCloud
  --region R            Azure region of your Arc resources, e.g. eastus (regional hosts stay patterns without it)
  --scenario S          servers (default), onboarding, resource-bridge, ssh-admin-center, extensions, optional,
                        or all; repeat or comma-separate for several
  --endpoints FILE      JSON file: your own endpoints, wildcard hosts, scenarios, exclusions (as for arcmon check)
  --source CIDR[,...]   source addresses of the Arc machines in firewall rules (default *)
  --proxy-address H:P   the proxy a PAC file sends Arc hosts to
  --out FILE            write to FILE instead of standard output
  -h, --help            this help

Exit status: 0 written, 2 bad usage or configuration.`;

class AllowlistUsage extends Error {}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `arcmon allowlist`: returns the exit status. */
export async function runAllowlist(argv: string[], io: CheckIo): Promise<number> {
  try {
    const { text, notes, out } = await produce(argv);
    for (const note of notes) io.stderr(`arcmon: ${note}\n`);
    if (out) await writeFile(out, text);
    else io.stdout(text);
    return 0;
  } catch (err) {
    if (err instanceof AllowlistUsage) {
      if (err.message === '') {
        io.stdout(`${ALLOWLIST_USAGE}\n`);
        return 0;
      }
      io.stderr(`arcmon allowlist: ${err.message}\n\n${ALLOWLIST_USAGE}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.stderr(`arcmon allowlist: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function produce(argv: string[]): Promise<{ text: string; notes: string[]; out?: string }> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        format: { type: 'string' },
        cloud: { type: 'string' },
        region: { type: 'string' },
        scenario: { type: 'string', multiple: true },
        endpoints: { type: 'string' },
        source: { type: 'string', multiple: true },
        'proxy-address': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new AllowlistUsage(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) throw new AllowlistUsage('');
  const format = v.format as AllowlistFormat | undefined;
  if (!format || !(ALLOWLIST_FORMATS as readonly string[]).includes(format)) {
    throw new AllowlistUsage(
      `--format must be one of ${ALLOWLIST_FORMATS.join(', ')}${v.format === undefined ? '' : `, got "${v.format}"`}`,
    );
  }
  const cloud = (v.cloud ?? 'AzureCloud') as Cloud;
  if (!(CLOUDS as readonly string[]).includes(cloud)) {
    throw new AllowlistUsage(`--cloud must be one of ${CLOUDS.join(', ')}, got "${v.cloud}"`);
  }
  const region = (v.region ?? '').trim().toLowerCase();
  if (region !== '' && !/^[a-z0-9]+$/.test(region)) {
    throw new AllowlistUsage(`--region must be a region name such as eastus or westeurope, got "${v.region}"`);
  }
  const sources = (v.source ?? []).flatMap((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
  for (const s of sources) {
    if (s !== '*' && !/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(s))
      throw new AllowlistUsage(`--source takes IP addresses or CIDR ranges (or *), got "${s}"`);
  }
  const proxyAddress = v['proxy-address'];
  if (
    proxyAddress !== undefined &&
    (!HOST_PORT.test(proxyAddress) || Number(HOST_PORT.exec(proxyAddress)?.[2]) > 65535)
  )
    throw new AllowlistUsage(`--proxy-address must be HOST:PORT, e.g. proxy.contoso.com:3128, got "${proxyAddress}"`);
  if (format === 'pac' && proxyAddress === undefined)
    throw new AllowlistUsage('--format pac needs --proxy-address HOST:PORT (the proxy the Arc hosts go to)');

  const userConfig = v.endpoints ? parseUserConfig(await readEndpoints(v.endpoints), v.endpoints) : undefined;
  const names = (v.scenario ?? []).flatMap((s) => s.split(',').map((x) => x.trim()));
  let scenarios;
  try {
    scenarios = resolveScenarios(names.filter(Boolean).length > 0 ? names : (userConfig?.scenarios ?? []));
  } catch (err) {
    throw new AllowlistUsage(`--scenario: ${err instanceof Error ? err.message : String(err)}`);
  }
  const entries = userConfig ? applyUserConfig(CATALOG, userConfig) : [...CATALOG];
  const list = buildAllowlist(entries, {
    cloud,
    region,
    scenarios,
    wildcards: { ...(userConfig?.wildcards ?? {}) },
  });
  const notes = list.items
    .filter((i) => i.unresolved)
    .map((i) => `${i.pattern}:${i.port} has no concrete host here (${i.unresolved?.fix ?? ''})`);
  if (region === '') notes.unshift('no --region: regional hosts are written as their patterns where the format allows');
  const text = formatAllowlist(list, format, {
    ...(sources.length > 0 ? { sourceAddresses: sources } : {}),
    ...(proxyAddress ? { proxyAddress } : {}),
    generatedBy: ['arcmon', 'allowlist', ...argv.filter((a, i) => a !== '--out' && argv[i - 1] !== '--out')].join(' '),
  });
  return { text, notes, ...(v.out ? { out: v.out } : {}) };
}

async function readEndpoints(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new AllowlistUsage(
      `--endpoints: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
}
