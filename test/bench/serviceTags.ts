/**
 * Service tags benchmark: a document of the published file's size and shape (generated: the real one cannot be
 * downloaded here) is parsed and indexed, then looked up with addresses inside and outside its ranges.
 * Prints file size, prefix count, load time, lookups per second (IPv4 and IPv6) and the heap the index holds.
 * Run alone: `npx tsx test/bench/serviceTags.ts`.
 */
import { indexServiceTags } from '../../lib/rules/serviceTags';
import { generateServiceTags } from '../helpers/serviceTagsFile';

function heapMiB(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export async function benchServiceTags(): Promise<{ lines: string[] }> {
  const { text, prefixCount } = generateServiceTags({ prefixes: 80_000, seed: 42 });
  const before = heapMiB();
  const t0 = performance.now();
  const index = indexServiceTags(text, 'generated ServiceTags_Public.json');
  const loadMs = performance.now() - t0;
  const held = heapMiB() - before;

  const doc = JSON.parse(text) as { values: { properties: { addressPrefixes: string[] } }[] };
  const prefixes = doc.values.flatMap((v) => v.properties.addressPrefixes);
  const v4 = prefixes.filter((p) => !p.includes(':')).map((p) => p.split('/')[0] ?? '');
  const v6 = prefixes.filter((p) => p.includes(':')).map((p) => (p.split('/')[0] ?? '').replace(/::$/, '::1'));
  const rate = (addresses: string[], rounds: number) => {
    let hits = 0;
    const start = performance.now();
    for (let r = 0; r < rounds; r++) for (const a of addresses) hits += index.lookup(a).length;
    const ms = performance.now() - start;
    return { perSecond: Math.round((addresses.length * rounds) / (ms / 1000)), hits };
  };
  const ipv4 = rate(v4.slice(0, 20_000), 5);
  const ipv6 = rate(v6.slice(0, 5_000), 2);
  const misses = rate(['8.8.8.8', '192.0.2.1', '2001:db8::1'], 20_000);
  await Promise.resolve();
  return {
    lines: [
      `document: ${(text.length / 2 ** 20).toFixed(1)} MiB, ${prefixCount.toLocaleString('en-US')} prefixes in ${index.tagCount.toLocaleString('en-US')} tags`,
      `load (parse + validate + index): ${loadMs.toFixed(0)} ms; index holds about ${held.toFixed(0)} MiB of heap`,
      `lookups: IPv4 ${ipv4.perSecond.toLocaleString('en-US')}/s, IPv6 ${ipv6.perSecond.toLocaleString('en-US')}/s, misses ${misses.perSecond.toLocaleString('en-US')}/s`,
    ],
  };
}

if (require.main === module) {
  void benchServiceTags().then(({ lines }) => {
    for (const l of lines) console.log(l);
  });
}
