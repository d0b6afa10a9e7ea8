/**
 * Evaluates what `bicep snapshot` leaves unresolved in a compiled deployment: ARM template-language expressions
 * (`[union(createObject('A', reference('/subscriptions/…', '2026-09-01').primaryEndpoints.table), …)]`) whose value
 * is known only while Azure deploys. Everything the compiler could work out offline is already a plain value; what
 * remains needs the control plane (a resource's runtime properties, the cloud's metadata, a secure parameter), which
 * the test supplies through `ArmContext`. That is the one part mocked here: it cannot run on this machine.
 *
 * Only the functions the templates' snapshots contain (and a few close relatives) are implemented; an unknown
 * function is an error naming it, so a template change that needs more fails loudly instead of evaluating wrongly.
 */
import { createHash } from 'node:crypto';

export type ArmValue = string | number | boolean | null | ArmValue[] | { [key: string]: ArmValue } | ArmLambda;

interface ArmLambda {
  kind: 'lambda';
  params: string[];
  body: Node;
  scope: Scope;
}

type Node =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'call'; name: string; args: Node[] }
  | { t: 'prop'; target: Node; name: string; optional: boolean }
  | { t: 'index'; target: Node; index: Node };

type Scope = ReadonlyMap<string, ArmValue>;

/** What only Azure knows at deployment time. */
export interface ArmContext {
  /** The cloud's metadata, as `environment()` returns it. */
  environment: { [key: string]: ArmValue };
  /** Runtime properties of a resource, as `reference(id, apiVersion)` returns them. */
  reference(resourceId: string, apiVersion: string | undefined): { [key: string]: ArmValue };
  /** Values of parameters the snapshot leaves as `parameters('name')` (secure ones). */
  parameters: Record<string, ArmValue>;
  /** A compiled template's `variables` section, for `variables('name')` (evaluated when read). */
  variables?: Record<string, unknown>;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const node = this.expr();
    this.ws();
    if (this.i !== this.s.length) throw this.error('unexpected text');
    return node;
  }

  private error(what: string): Error {
    return new Error(`ARM expression: ${what} at ${this.i}: …${this.s.slice(this.i, this.i + 40)}`);
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i] ?? '')) this.i++;
  }

  private expr(): Node {
    this.ws();
    let node = this.primary();
    for (;;) {
      this.ws();
      const c = this.s[this.i];
      if (c === '.' || (c === '?' && this.s[this.i + 1] === '.')) {
        const optional = c === '?';
        this.i += optional ? 2 : 1;
        const name = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(this.s.slice(this.i))?.[0];
        if (!name) throw this.error('expected a property name');
        this.i += name.length;
        node = { t: 'prop', target: node, name, optional };
      } else if (c === '[') {
        this.i++;
        const index = this.expr();
        this.ws();
        if (this.s[this.i] !== ']') throw this.error("expected ']'");
        this.i++;
        node = { t: 'index', target: node, index };
      } else return node;
    }
  }

  private primary(): Node {
    const c = this.s[this.i];
    if (c === "'") {
      let out = '';
      this.i++;
      for (;;) {
        if (this.i >= this.s.length) throw this.error('unterminated string');
        const ch = this.s[this.i++];
        if (ch === "'") {
          if (this.s[this.i] === "'") {
            out += "'";
            this.i++;
          } else break;
        } else out += ch;
      }
      return { t: 'str', v: out };
    }
    const num = /^-?\d+(\.\d+)?/.exec(this.s.slice(this.i))?.[0];
    if (num) {
      this.i += num.length;
      return { t: 'num', v: Number(num) };
    }
    const name = /^[A-Za-z_][A-Za-z0-9_.]*?(?=\s*\()/.exec(this.s.slice(this.i))?.[0];
    if (!name) throw this.error('expected a value');
    this.i += name.length;
    this.ws();
    this.i++; // (
    const args: Node[] = [];
    this.ws();
    if (this.s[this.i] === ')') {
      this.i++;
      return { t: 'call', name, args };
    }
    for (;;) {
      args.push(this.expr());
      this.ws();
      const sep = this.s[this.i++];
      if (sep === ')') return { t: 'call', name, args };
      if (sep !== ',') throw this.error("expected ',' or ')'");
    }
  }
}

const isObject = (v: ArmValue | undefined): v is { [key: string]: ArmValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Partial<ArmLambda>).kind !== 'lambda';

function isLambda(v: ArmValue | undefined): v is ArmLambda {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Partial<ArmLambda>).kind === 'lambda';
}

function text(v: ArmValue | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

/** ARM's guid(): a stable GUID-shaped hash of its arguments (the exact algorithm does not matter offline). */
function guid(parts: string[]): string {
  const h = createHash('sha1').update(parts.join('-')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class ArmEvaluator {
  constructor(private readonly ctx: ArmContext) {}

  /** Resolves every template expression inside a JSON value (strings starting with `[`; `[[` is a literal `[`). */
  resolve(value: unknown): ArmValue {
    if (typeof value === 'string') {
      if (value.startsWith('[[')) return value.slice(1);
      if (value.startsWith('[') && value.endsWith(']')) return this.evaluate(value.slice(1, -1));
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (typeof value === 'object' && value !== null) {
      const out: { [key: string]: ArmValue } = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.resolve(v);
      return out;
    }
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
    throw new Error(`not a JSON value: a ${typeof value}`);
  }

  evaluate(expression: string): ArmValue {
    return this.eval(new Parser(expression).parse(), new Map());
  }

  private eval(node: Node, scope: Scope): ArmValue {
    switch (node.t) {
      case 'str':
      case 'num':
        return node.v;
      case 'prop': {
        const target = this.eval(node.target, scope);
        if (target === null && node.optional) return null;
        if (!isObject(target)) throw new Error(`ARM expression: .${node.name} of a non-object (${text(target)})`);
        const found = Object.keys(target).find((k) => k.toLowerCase() === node.name.toLowerCase());
        if (found === undefined) {
          if (node.optional) return null;
          throw new Error(
            `ARM expression: the object has no property ${node.name} (has ${Object.keys(target).join(', ')})`,
          );
        }
        return target[found] ?? null;
      }
      case 'index': {
        const target = this.eval(node.target, scope);
        const index = this.eval(node.index, scope);
        if (Array.isArray(target) && typeof index === 'number') return target[index] ?? null;
        if (isObject(target) && typeof index === 'string') return target[index] ?? null;
        throw new Error(`ARM expression: cannot index ${text(target)} with ${text(index)}`);
      }
      case 'call':
        return this.call(node.name, node.args, scope);
    }
  }

  private call(name: string, argNodes: Node[], scope: Scope): ArmValue {
    const fn = name.toLowerCase();
    if (fn === 'lambda') {
      const params = argNodes.slice(0, -1).map((n) => (n.t === 'str' ? n.v : ''));
      const body = argNodes[argNodes.length - 1];
      if (!body) throw new Error('ARM expression: lambda without a body');
      return { kind: 'lambda', params, body, scope };
    }
    if (fn === 'lambdavariables') {
      const key = this.eval(argNodes[0] ?? { t: 'str', v: '' }, scope);
      if (typeof key !== 'string' || !scope.has(key))
        throw new Error(`ARM expression: no lambda variable ${text(key)}`);
      return scope.get(key) ?? null;
    }
    if (fn === 'if') {
      const [cond, a, b] = argNodes;
      if (!cond || !a || !b) throw new Error('ARM expression: if() takes three arguments');
      return this.eval(cond, scope) === true ? this.eval(a, scope) : this.eval(b, scope);
    }
    const args = argNodes.map((n) => this.eval(n, scope));
    const str = (i: number): string => text(args[i]);
    const apply = (f: ArmValue | undefined, ...values: ArmValue[]): ArmValue => {
      if (!isLambda(f)) throw new Error(`ARM expression: ${name}() needs a lambda`);
      const inner = new Map(f.scope);
      f.params.forEach((p, i) => inner.set(p, values[i] ?? null));
      return this.eval(f.body, inner);
    };
    const num = (i: number): number => {
      const v = args[i];
      if (typeof v !== 'number') throw new Error(`ARM expression: argument ${i + 1} of ${name}() is not a number`);
      return v;
    };
    const list = (i: number): ArmValue[] => {
      const v = args[i];
      if (!Array.isArray(v)) throw new Error(`ARM expression: argument ${i + 1} of ${name}() is not an array`);
      return v;
    };
    switch (fn) {
      case 'null':
        return null;
      case 'true':
        return true;
      case 'false':
        return false;
      case 'parameters': {
        const key = str(0);
        if (!(key in this.ctx.parameters))
          throw new Error(`ARM expression: the test gives no value for parameters('${key}')`);
        return this.ctx.parameters[key] ?? null;
      }
      case 'variables': {
        const key = str(0);
        const vars = this.ctx.variables ?? {};
        if (!(key in vars)) throw new Error(`ARM expression: no variable ${key}`);
        return this.resolve(vars[key]);
      }
      case 'mul':
        return num(0) * num(1);
      case 'add':
        return num(0) + num(1);
      case 'sub':
        return num(0) - num(1);
      case 'div':
        return Math.trunc(num(0) / num(1));
      case 'less':
        return num(0) < num(1);
      case 'lessorequals':
        return num(0) <= num(1);
      case 'greater':
        return num(0) > num(1);
      case 'greaterorequals':
        return num(0) >= num(1);
      case 'environment':
        return this.ctx.environment;
      case 'reference':
        return this.ctx.reference(str(0), args[1] === undefined ? undefined : str(1));
      case 'coalesce':
        return args.find((a) => a !== null) ?? null;
      case 'createarray':
        return args;
      case 'createobject': {
        const out: { [key: string]: ArmValue } = {};
        for (let i = 0; i + 1 < args.length; i += 2) out[str(i)] = args[i + 1] ?? null;
        return out;
      }
      case 'union': {
        if (args.every(isObject)) return Object.assign({}, ...args) as { [key: string]: ArmValue };
        const arrays = args.filter((a): a is ArmValue[] => Array.isArray(a));
        if (arrays.length === args.length) {
          const out: ArmValue[] = [];
          for (const a of arrays)
            for (const v of a) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
          return out;
        }
        throw new Error('ARM expression: union() of mixed types');
      }
      case 'empty': {
        const v = args[0];
        if (v === null || v === undefined) return true;
        if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
        if (isObject(v)) return Object.keys(v).length === 0;
        return false;
      }
      case 'not':
        return args[0] !== true;
      case 'and':
        return args.every((a) => a === true);
      case 'or':
        return args.some((a) => a === true);
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'format':
        return str(0).replace(/\{(\d+)\}/g, (_, n: string) => text(args[Number(n) + 1]));
      case 'concat':
        return args.every(Array.isArray) && args.length > 0 ? args.flat() : args.map((_, i) => str(i)).join('');
      case 'string':
        return text(args[0]);
      case 'tolower':
        return str(0).toLowerCase();
      case 'toupper':
        return str(0).toUpperCase();
      case 'replace':
        return str(0).split(str(1)).join(str(2));
      case 'join':
        return list(0)
          .map((v) => text(v))
          .join(str(1));
      case 'length': {
        const v = args[0];
        if (typeof v === 'string' || Array.isArray(v)) return v.length;
        if (isObject(v)) return Object.keys(v).length;
        throw new Error('ARM expression: length() of a non-collection');
      }
      case 'guid':
        return guid(args.map((_, i) => str(i)));
      case 'uniquestring':
        return createHash('sha1')
          .update(args.map((_, i) => str(i)).join('-'))
          .digest('hex')
          .slice(0, 13);
      case 'filter':
        return list(0).filter((v) => apply(args[1], v) === true);
      case 'map':
        return list(0).map((v) => apply(args[1], v));
      case 'toobject': {
        const out: { [key: string]: ArmValue } = {};
        for (const v of list(0)) out[text(apply(args[1], v))] = args[2] === undefined ? v : apply(args[2], v);
        return out;
      }
      case 'items': {
        const v = args[0];
        if (!isObject(v)) throw new Error('ARM expression: items() of a non-object');
        return Object.keys(v)
          .sort()
          .map((key) => ({ key, value: v[key] ?? null }));
      }
      case 'extensionresourceid':
        return `${str(0)}/providers/${str(1)}/${args
          .slice(2)
          .map((_, i) => str(i + 2))
          .join('/')}`;
      case 'resourceid':
        return `/${args.map((_, i) => str(i)).join('/')}`;
      default:
        throw new Error(`ARM expression: ${name}() is not implemented in test/infra/armExpressions.ts`);
    }
  }
}
