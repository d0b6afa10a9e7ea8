/// <reference types="@kusto/language-service-next" />
/**
 * Microsoft's own KQL parser and semantic analyser (Kusto.Language, compiled to JavaScript by Bridge.NET and
 * published as @kusto/language-service-next) for the infra tests: a query is parsed and bound against a database
 * whose tables have the real columns, so a misspelt column, a keyword used as a name or a wrong argument type is a
 * diagnostic, as it would be in the portal.
 */
import { createRequire } from 'node:module';
import type { KqlColumnType, TableColumns } from './appInsightsSchema';

/** One problem Kusto.Language reports, with a 1-based line and column computed from its offset. */
export interface KqlDiagnostic {
  /** Kusto.Language's code, e.g. `KS142`. */
  code: string;
  /** `Error`, `Warning`, `Suggestion` or `Information`. */
  severity: string;
  message: string;
  line: number;
  column: number;
  /** Offset and length in the analysed text. */
  start: number;
  length: number;
}

type KustoLanguage = typeof Kusto.Language;
type ReadOnlyList<T> = System.Collections.Generic.IReadOnlyList$1<T>;

let loaded: KustoLanguage | undefined;

/** Loads the Bridge.NET runtime and Kusto.Language once per process; they install the global `Kusto`. */
function kusto(): KustoLanguage {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    require('@kusto/language-service-next/bridge.min.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
    loaded = Kusto.Language;
  }
  return loaded;
}

function scalarType(k: KustoLanguage, type: KqlColumnType): Kusto.Language.Symbols.ScalarSymbol | null {
  const types = k.Symbols.ScalarTypes;
  const byName: Record<KqlColumnType, Kusto.Language.Symbols.ScalarSymbol | null> = {
    string: types.String,
    datetime: types.DateTime,
    real: types.Real,
    int: types.Int,
    dynamic: types.Dynamic,
  };
  return byName[type];
}

// Building the symbols is cheap, but a GlobalState reused across queries lets Kusto.Language reuse its caches.
const globalsCache = new WeakMap<object, Kusto.Language.GlobalState>();

function globalsFor(k: KustoLanguage, tables: Readonly<Record<string, TableColumns>>): Kusto.Language.GlobalState {
  const cached = globalsCache.get(tables);
  if (cached) return cached;
  const { ColumnSymbol, TableSymbol, DatabaseSymbol } = k.Symbols;
  const tableSymbols = Object.entries(tables).map(
    ([table, columns]) =>
      new TableSymbol.$ctor4(
        table,
        Object.entries(columns).map(
          ([name, type]) => new ColumnSymbol(name, scalarType(k, type), null, null, null, null),
        ),
      ),
  );
  const globals = k.GlobalState.Default?.WithDatabase(new DatabaseSymbol.ctor('appinsights', tableSymbols));
  if (!globals) throw new Error('Kusto.Language returned no GlobalState');
  globalsCache.set(tables, globals);
  return globals;
}

function toArray<T>(list: ReadOnlyList<T> | null): T[] {
  const out: T[] = [];
  if (!list) return out;
  for (let i = 0; i < list.Count; i++) out.push(list.getItem(i));
  return out;
}

/** 1-based line and column of `offset` in `text` (a tab or a CR counts as one column). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/**
 * Every diagnostic Kusto.Language has for `text` bound against `tables`: syntax and semantic diagnostics
 * (`KustoCode.GetDiagnostics`) and the code analysers the Kusto editors run on top (`GetAnalyzerDiagnostics`:
 * join without kind, `contains` where `has` would do, null aggregation, ...), of every severity, in text order.
 */
export function analyzeKql(text: string, tables: Readonly<Record<string, TableColumns>>): KqlDiagnostic[] {
  const k = kusto();
  const code = k.KustoCode.ParseAndAnalyze(text, globalsFor(k, tables));
  if (!code) throw new Error('Kusto.Language returned no analysis');
  const service = new k.Editor.KustoCodeService.ctor(code);
  const all = [...toArray(code.GetDiagnostics()), ...toArray(service.GetAnalyzerDiagnostics(true))];

  const seen = new Set<string>();
  const out: KqlDiagnostic[] = [];
  for (const d of all) {
    const key = `${d.Code}@${d.Start}:${d.Length}:${d.Message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      code: d.Code ?? '',
      severity: d.Severity ?? '',
      message: d.Message ?? '',
      ...lineAndColumn(text, d.Start),
      start: d.Start,
      length: d.Length,
    });
  }
  return out.sort((a, b) => a.start - b.start || a.code.localeCompare(b.code));
}

/** `name:line:column code severity: message`, one line per diagnostic, for failure output. */
export function formatDiagnostics(name: string, diagnostics: readonly KqlDiagnostic[]): string {
  return diagnostics.map((d) => `${name}:${d.line}:${d.column} ${d.code} ${d.severity}: ${d.message}`).join('\n');
}

/** Names of the columns a query returns, as Kusto's semantic analysis types its result. */
export function resultColumns(text: string, tables: Readonly<Record<string, TableColumns>>): string[] {
  const k = kusto();
  const code = k.KustoCode.ParseAndAnalyze(text, globalsFor(k, tables));
  const result = code?.ResultType;
  if (!(result instanceof k.Symbols.TableSymbol)) throw new Error('the query does not return a table');
  return toArray(result.Columns).map((c) => c.Name ?? '');
}
