/**
 * Regenerates the README's catalog section from `arcmon catalog --scenario all --cloud AzureCloud --region eastus
 * --markdown` (run: `npx tsx scripts/readme-catalog.ts`). test/cli/catalog.test.ts fails while the README differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderCatalog } from '../lib/cli/catalog';

export const README_CATALOG_ARGS = ['--scenario', 'all', '--cloud', 'AzureCloud', '--region', 'eastus', '--markdown'];
export const BEGIN = `<!-- generated: arcmon catalog ${README_CATALOG_ARGS.join(' ')} -->`;
export const END = '<!-- end of generated catalog -->';

/** The section as the command prints it today, between its markers. */
export function catalogSection(): string {
  const body = renderCatalog({ cloud: 'AzureCloud', region: 'eastus', scenarios: 'all' }, 'markdown');
  return `${BEGIN}\n\n${body}\n${END}`;
}

/** The section as the README has it (markers included), or undefined when the markers are missing. */
export function readmeSection(readme: string): string | undefined {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  return start >= 0 && end > start ? readme.slice(start, end + END.length) : undefined;
}

if (require.main === module) {
  const file = path.join(__dirname, '..', 'README.md');
  const readme = readFileSync(file, 'utf8');
  const current = readmeSection(readme);
  if (current === undefined) throw new Error(`README.md has no section between ${BEGIN} and ${END}`);
  writeFileSync(file, readme.replace(current, catalogSection()));
  console.log('README.md catalog section regenerated');
}
