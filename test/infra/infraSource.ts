/**
 * Reads the deployment templates (infra/) as text for the infra tests: Bicep files, their resource blocks,
 * parameters with their decorators, object-literal variables, and the KQL files with the telemetry names they use.
 * A deliberately small reader, not a Bicep parser: it relies on the templates' formatting (one statement per line,
 * decorators on their own lines), which `bicep format` keeps.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INFRA_DIR = fileURLToPath(new URL('../../infra', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** A file under infra/, path relative to infra/. */
export interface SourceFile {
  path: string;
  text: string;
}

function walk(dir: string, accept: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'bicep-tool' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, accept));
    else if (accept(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Every file under infra/ whose name passes `accept`. */
export function infraFiles(accept: (name: string) => boolean): SourceFile[] {
  return walk(INFRA_DIR, accept).map((full) => ({ path: relative(INFRA_DIR, full), text: readFileSync(full, 'utf8') }));
}

export const bicepFiles = (): SourceFile[] => infraFiles((n) => n.endsWith('.bicep'));
export const kqlFiles = (): SourceFile[] => infraFiles((n) => n.endsWith('.kql'));
export const readInfra = (path: string): string => readFileSync(join(INFRA_DIR, path), 'utf8');

/** Removes `//` line comments that are not inside a single-quoted Bicep string. */
export function stripBicepComments(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (c === "'" && line[i - 1] !== '\\') inString = !inString;
        if (!inString && c === '/' && line[i + 1] === '/') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

/**
 * Index just past the bracket that closes the one at `open` (`{`, `[` or `(`), skipping single-quoted strings
 * and their `${...}` interpolations.
 */
export function matchBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack: string[] = [];
  let i = open;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === "'") {
      i = skipString(text, i);
      continue;
    }
    const close = pairs[c];
    if (close) stack.push(close);
    else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
    i++;
  }
  throw new Error(`unbalanced bracket at offset ${open}`);
}

function skipString(text: string, start: number): number {
  if (text.startsWith("'''", start)) {
    const end = text.indexOf("'''", start + 3);
    return end < 0 ? text.length : end + 3;
  }
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') i += 2;
    else if (c === "'") return i + 1;
    else if (c === '$' && text[i + 1] === '{') i = matchBracket(text, i + 1);
    else i++;
  }
  return i;
}

/** One `resource` declaration. */
export interface ResourceBlock {
  file: string;
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** The declaration's body, from its `{` to the matching `}` (for a loop, the loop body). */
  body: string;
}

export function resourceBlocks(file: SourceFile): ResourceBlock[] {
  const text = stripBicepComments(file.text);
  const out: ResourceBlock[] = [];
  const decl = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s+(existing\s+)?=\s*/gm;
  for (let m = decl.exec(text); m; m = decl.exec(text)) {
    const start = text.indexOf('{', m.index + m[0].length);
    out.push({
      file: file.path,
      symbol: m[1] ?? '',
      type: m[2] ?? '',
      apiVersion: m[3] ?? '',
      existing: Boolean(m[4]),
      body: text.slice(start, matchBracket(text, start)),
    });
  }
  return out;
}

export const allResources = (): ResourceBlock[] => bicepFiles().flatMap(resourceBlocks);

/** A `param` declaration with the decorators written above it. */
export interface ParamDecl {
  file: string;
  name: string;
  /** Rest of the declaration line after the name: type and default. */
  declaration: string;
  decorators: string[];
  /** Default value text on the declaration line and below (up to the next blank line). */
  defaultText: string;
}

/**
 * Decorated declarations of a file: `param` lines and, inside `type` blocks, property lines. Each gets the
 * decorators (one or more lines each) directly above it.
 */
export function decoratedDeclarations(file: SourceFile): { params: ParamDecl[]; typeProperties: ParamDecl[] } {
  const lines = stripBicepComments(file.text).split('\n');
  const params: ParamDecl[] = [];
  const typeProperties: ParamDecl[] = [];
  let pending: string[] = [];
  let typeDepth = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const trimmed = line.trim();
    if (trimmed.startsWith('@')) {
      let decorator = trimmed;
      let depth = count(decorator, '([') - count(decorator, ')]');
      while (depth > 0 && i + 1 < lines.length) {
        i++;
        const next = (lines[i] ?? '').trim();
        decorator += ` ${next}`;
        depth += count(next, '([') - count(next, ')]');
      }
      pending.push(decorator);
      continue;
    }
    const param = /^param\s+(\w+)\s*(.*)$/.exec(line);
    if (param) {
      const rest: string[] = [param[2] ?? ''];
      for (let j = i + 1; j < lines.length && (lines[j] ?? '').trim() !== '' && !/^\S/.test(lines[j] ?? ''); j++) {
        rest.push(lines[j] ?? '');
      }
      const declaration = param[2] ?? '';
      const eq = rest.join('\n').indexOf('=');
      params.push({
        file: file.path,
        name: param[1] ?? '',
        declaration,
        decorators: pending,
        defaultText: eq < 0 ? '' : rest.join('\n').slice(eq + 1),
      });
      pending = [];
      continue;
    }
    if (/^type\s+\w+\s*=\s*\{/.test(line)) {
      typeDepth = 1;
      pending = [];
      continue;
    }
    if (typeDepth > 0) {
      const property = /^\s+(\w+)\s*:\s*(.*)$/.exec(line);
      if (typeDepth === 1 && property) {
        typeProperties.push({
          file: file.path,
          name: property[1] ?? '',
          declaration: property[2] ?? '',
          decorators: pending,
          defaultText: '',
        });
      }
      typeDepth += count(line, '{') - count(line, '}');
    }
    if (trimmed !== '') pending = [];
  }
  return { params, typeProperties };
}

function count(text: string, chars: string): number {
  let n = 0;
  for (const c of text) if (chars.includes(c)) n++;
  return n;
}

/** The text of `var <name> = <expression>` (an object literal keeps its braces). */
export function variableExpression(text: string, name: string): string | undefined {
  const source = stripBicepComments(text);
  const m = new RegExp(`^var\\s+${name}\\s*=\\s*`, 'm').exec(source);
  if (!m) return undefined;
  const start = m.index + m[0].length;
  if (source[start] === '{' || source[start] === '[') return source.slice(start, matchBracket(source, start));
  const end = source.indexOf('\n', start);
  return source.slice(start, end < 0 ? undefined : end);
}

/** Top-level keys of an object literal `{ ... }` written one property per line. */
export function objectKeys(objectText: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of objectText.split('\n')) {
    if (depth === 1) {
      const key = /^\s*'?([A-Za-z_][\w-]*)'?\s*:/.exec(line);
      if (key) keys.push(key[1] ?? '');
    }
    for (const c of line) {
      if (c === '{' || c === '[') depth++;
      if (c === '}' || c === ']') depth--;
    }
  }
  return keys;
}

/**
 * Setting names an expression yields: keys of object-literal variables it names, following variables defined
 * from other variables (e.g. a filtered copy of an object).
 */
export function settingNamesOf(fileText: string, expression: string, seen = new Set<string>()): string[] {
  const names: string[] = [];
  for (const [, id] of expression.matchAll(/\b([A-Za-z_]\w*)\b/g)) {
    if (!id || seen.has(id)) continue;
    const value = variableExpression(fileText, id);
    if (value === undefined) continue;
    seen.add(id);
    if (value.startsWith('{')) names.push(...objectKeys(value));
    else names.push(...settingNamesOf(fileText, value, seen));
  }
  return names;
}

/** What one KQL text refers to. */
export interface KqlUsage {
  tables: string[];
  customDimensions: string[];
  customMeasurements: string[];
  /** Identifier -> string literals it is compared with (==, !=, =~, !~, in, !in). */
  comparisons: Map<string, string[]>;
  /** `__NAME__` placeholders the template fills in. */
  placeholders: string[];
}

const KNOWN_TABLES = [
  'availabilityResults',
  'customEvents',
  'customMetrics',
  'requests',
  'dependencies',
  'traces',
  'exceptions',
  'pageViews',
  'AppAvailabilityResults',
  'AppEvents',
  'AppMetrics',
  'AppTraces',
];

export function analyseKql(kql: string): KqlUsage {
  const text = kql
    .split('\n')
    .map((l) => l.replace(/\/\/.*$/, ''))
    .join('\n');
  const uniq = (xs: string[]) => [...new Set(xs)];
  const tables = uniq(KNOWN_TABLES.filter((t) => new RegExp(`\\b${t}\\b`).test(text)));
  const property = (bag: string) =>
    uniq(
      [...text.matchAll(new RegExp(`\\b${bag}\\s*(?:\\.\\s*([A-Za-z_]\\w*)|\\[\\s*["']([^"']+)["']\\s*\\])`, 'g'))].map(
        (m) => m[1] ?? m[2] ?? '',
      ),
    );
  const comparisons = new Map<string, string[]>();
  const add = (id: string, literal: string) => comparisons.set(id, uniq([...(comparisons.get(id) ?? []), literal]));
  for (const m of text.matchAll(/\b([A-Za-z_]\w*)\s*(?:==|!=|=~|!~)\s*"([^"]*)"/g)) add(m[1] ?? '', m[2] ?? '');
  for (const m of text.matchAll(/\b([A-Za-z_]\w*)\s+(?:in|!in|in~|!in~)\s*\(([^)]*)\)/g)) {
    for (const lit of (m[2] ?? '').matchAll(/"([^"]*)"/g)) add(m[1] ?? '', lit[1] ?? '');
  }
  return {
    tables,
    customDimensions: property('customDimensions'),
    customMeasurements: property('customMeasurements'),
    comparisons,
    placeholders: uniq([...text.matchAll(/__([A-Z][A-Z0-9_]*)__/g)].map((m) => m[0])),
  };
}
