/**
 * Service tags documents in the published format (ServiceTags_Public_*.json: changeNumber, cloud, values[] with
 * name, id, properties.{changeNumber, region, regionId, platform, systemService, addressPrefixes, networkFeatures}),
 * made by the tests: the real file cannot be downloaded here. `generateServiceTags` builds one of the published
 * size and shape (about 4 MB, tens of thousands of IPv4 and IPv6 prefixes across thousands of regional slices).
 */

export interface TagSpec {
  name: string;
  region?: string;
  systemService?: string;
  prefixes: string[];
}

export function serviceTagsDocument(tags: TagSpec[], changeNumber = 413, cloud = 'Public'): string {
  // Indented like the published file.
  return JSON.stringify(
    {
      changeNumber,
      cloud,
      values: tags.map((t) => ({
        name: t.name,
        id: t.name,
        properties: {
          changeNumber: 7,
          region: t.region ?? '',
          regionId: 0,
          platform: 'Azure',
          systemService: t.systemService ?? '',
          addressPrefixes: t.prefixes,
          networkFeatures: ['API', 'NSG', 'UDR', 'FW'],
        },
      })),
    },
    null,
    2,
  );
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A document shaped like the full public file: `services` × `regions` slices, ~`prefixes` prefixes in all. */
export function generateServiceTags(
  opts: { services?: number; regions?: number; prefixes?: number; seed?: number } = {},
): {
  text: string;
  prefixCount: number;
} {
  const services = opts.services ?? 60;
  const regions = opts.regions ?? 60;
  const total = opts.prefixes ?? 70_000;
  const rnd = random(opts.seed ?? 1);
  const perSlice = Math.max(1, Math.floor(total / (services * regions)));
  const tags: TagSpec[] = [];
  let prefixCount = 0;
  for (let s = 0; s < services; s++) {
    for (let r = 0; r < regions; r++) {
      const prefixes: string[] = [];
      for (let i = 0; i < perSlice; i++) {
        if (rnd() < 0.8) {
          const len = 20 + Math.floor(rnd() * 12);
          const n = Math.floor(rnd() * 0xffffffff) & ((0xffffffff << (32 - len)) >>> 0);
          prefixes.push(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/${len}`);
        } else {
          const g = () => Math.floor(rnd() * 0x10000).toString(16);
          prefixes.push(`2603:${g()}:${g()}:${g()}::/64`);
        }
      }
      prefixCount += prefixes.length;
      tags.push({ name: `Service${s}.Region${r}`, region: `region${r}`, systemService: `Service${s}`, prefixes });
    }
  }
  return { text: serviceTagsDocument(tags), prefixCount };
}
