#!/usr/bin/env node
// Fallback used by infra/bicep.sh when the real Bicep compiler cannot be restored.
// THIS IS NOT A COMPILATION: it parses every .bicep/.bicepparam file with tree-sitter-bicep and checks what a
// parser plus a symbol table can see (syntax errors, undefined or unused symbols, module parameters and outputs,
// imports, files loaded with load*Content, parameter files against main.bicep). It knows nothing of resource
// types, property names or expression types: only `bicep build` does.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

let Parser;
let Bicep;
try {
  Parser = require('tree-sitter');
  Bicep = require('tree-sitter-bicep');
} catch (err) {
  console.error(
    `bicep-syntax-check: cannot load tree-sitter and tree-sitter-bicep (${err.message.split('\n')[0]}); they are devDependencies: tree-sitter@^0.22.4, tree-sitter-bicep@1.1.0`,
  );
  process.exit(2);
}

const root = path.resolve(process.argv[2] || path.join(__dirname));
const parser = new Parser();
parser.setLanguage(Bicep);

const problems = [];
const report = (file, node, message) => {
  const at = node ? `${node.startPosition.row + 1}:${node.startPosition.column + 1}` : '1:1';
  problems.push(`${path.relative(process.cwd(), file)}:${at}: ${message}`);
};

function listFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'bicep-tool' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (/\.bicep(param)?$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

const named = (node) => node.namedChildren.filter((c) => c.type !== 'comment' && c.type !== 'diagnostic_comment');
const stringValue = (node) => {
  if (!node || node.type !== 'string') return undefined;
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
  const t = node.text;
  return t.startsWith("'''") ? t.slice(3, -3) : t.slice(1, -1).replace(/\\'/g, "'");
};

function decoratorNames(declNode) {
  // Decorators are the previous sibling `decorators` node of a declaration.
  const prev = declNode.previousNamedSibling;
  if (!prev || prev.type !== 'decorators') return [];
  return prev.namedChildren.map((d) => {
    const call = d.namedChildren[0];
    const fn = call && call.childForFieldName('function');
    return fn ? fn.text.replace(/^sys\./, '') : '';
  });
}

/** Parses one file into its declarations. Cached. */
const cache = new Map();
function load(file) {
  if (cache.has(file)) return cache.get(file);
  let text = fs.readFileSync(file, 'utf8');
  // The grammar knows `param name type`, not a parameters file's `param name = value`: read those as variables
  // of the same length so positions stay right, and remember their names.
  const assigned = [];
  if (file.endsWith('.bicepparam')) {
    text = text.replace(/^param(\s+)([A-Za-z_][A-Za-z0-9_]*)(\s*)=/gm, (_m, s1, name, s2) => {
      assigned.push(name);
      return `var  ${s1}${name}${s2}=`;
    });
  }
  const tree = parser.parse(text);
  const info = {
    file,
    tree,
    params: new Map(), // name -> { node, required }
    outputs: new Map(),
    symbols: new Map(), // referencable top-level names -> { kind, node }
    exports: new Set(),
    usingPath: undefined,
    assigned,
  };
  for (const stmt of named(tree.rootNode)) {
    const idNode = stmt.namedChildren.find((c) => c.type === 'identifier');
    const name = idNode && idNode.text;
    switch (stmt.type) {
      case 'parameter_declaration': {
        // Required: no default value and a type that is not nullable.
        const kids = named(stmt);
        const hasDefault = kids.length >= 3;
        const typeNode = kids[1];
        const nullable = !!typeNode && (typeNode.type === 'nullable_type' || /\?\s*$/.test(typeNode.text));
        info.params.set(name, { node: stmt, required: !hasDefault && !nullable, isParamFile: false });
        info.symbols.set(name, { kind: 'param', node: idNode });
        break;
      }
      case 'variable_declaration':
        info.symbols.set(name, { kind: 'var', node: idNode });
        if (decoratorNames(stmt).includes('export')) info.exports.add(name);
        break;
      case 'resource_declaration':
        info.symbols.set(name, { kind: stmt.text.match(/'\s+existing\s*=/) ? 'existing' : 'resource', node: idNode });
        break;
      case 'module_declaration':
        info.symbols.set(name, { kind: 'module', node: idNode });
        break;
      case 'output_declaration':
        info.outputs.set(name, stmt);
        break;
      case 'type_declaration':
        info.symbols.set(name, { kind: 'type', node: idNode });
        if (decoratorNames(stmt).includes('export')) info.exports.add(name);
        break;
      case 'user_defined_function': {
        const fnName = stmt.childForFieldName('name');
        info.symbols.set(fnName.text, { kind: 'func', node: fnName });
        if (decoratorNames(stmt).includes('export')) info.exports.add(fnName.text);
        break;
      }
      case 'import_functionality': {
        for (const c of stmt.namedChildren) {
          if (c.type === 'identifier') info.symbols.set(c.text, { kind: 'import', node: c });
        }
        break;
      }
      case 'using_statement':
        info.usingPath = stringValue(stmt.namedChildren.find((c) => c.type === 'string'));
        break;
      default:
        break;
    }
  }
  cache.set(file, info);
  return info;
}

const TYPE_CONTAINERS = new Set([
  'type',
  'nullable_type',
  'array_type',
  'union_type',
  'parameterized_type',
  'parenthesized_type',
  'negated_type',
]);
const PRIMITIVE_TYPES = new Set(['string', 'int', 'bool', 'object', 'array', 'any']);
const NAMESPACES = new Set(['sys', 'az']);

/** Reports ERROR and MISSING nodes, named or not. */
function checkSyntax(info) {
  const visit = (node) => {
    if (node.type === 'ERROR') {
      report(info.file, node, `syntax error near "${node.text.slice(0, 40).replace(/\s+/g, ' ')}"`);
      return;
    }
    if (node.isMissing) {
      report(info.file, node, `syntax error: missing "${node.type}"`);
      return;
    }
    for (const c of node.children) visit(c);
  };
  visit(info.tree.rootNode);
}

/** Walks one file: reports unresolved identifiers, counts references to top-level symbols. */
function checkReferences(info) {
  const uses = new Map();
  const use = (name) => uses.set(name, (uses.get(name) || 0) + 1);

  const walk = (node, scope) => {
    if (node.type === 'ERROR' || node.isMissing) return;
    switch (node.type) {
      case 'lambda_expression': {
        const kids = named(node);
        const inner = new Set(scope);
        kids.slice(0, -1).forEach((k) => {
          if (k.type === 'identifier') inner.add(k.text);
          else k.descendantsOfType('identifier').forEach((i) => inner.add(i.text));
        });
        walk(kids[kids.length - 1], inner);
        return;
      }
      case 'for_statement': {
        const inner = new Set(scope);
        const init = node.childForFieldName('initializer');
        let rest = named(node);
        if (init && init.type === 'identifier') {
          inner.add(init.text);
          rest = rest.filter((c) => c.id !== init.id);
        }
        for (const c of rest) {
          if (c.type === 'for_loop_parameters') {
            c.namedChildren.forEach((p) => inner.add(p.text));
            continue;
          }
          // The iterated expression sees the outer scope, the body the loop variables.
          walk(c, c.id === (node.childForFieldName('body') || {}).id ? inner : scope);
        }
        return;
      }
      case 'user_defined_function': {
        const inner = new Set(scope);
        node.descendantsOfType('parameter').forEach((p) => {
          const id = p.namedChildren.find((c) => c.type === 'identifier');
          if (id) inner.add(id.text);
        });
        for (const c of named(node)) {
          if (c.type === 'parameters' || c.id === node.childForFieldName('name').id) continue;
          walk(c, inner);
        }
        return;
      }
      case 'object_property': {
        const kids = named(node);
        // The key is the first child; in an object type, the value is a type expression.
        for (const c of kids.slice(1)) walk(c, scope);
        return;
      }
      case 'call_expression': {
        const fn = node.childForFieldName('function');
        if (fn && fn.type !== 'identifier') walk(fn, scope);
        else if (fn && info.symbols.has(fn.text)) use(fn.text);
        const args = node.childForFieldName('arguments');
        if (args) walk(args, scope);
        return;
      }
      case 'member_expression': {
        walk(node.childForFieldName('object'), scope);
        return;
      }
      case 'import_functionality':
      case 'using_statement':
      case 'metadata_declaration':
        return;
      case 'identifier': {
        const parent = node.parent;
        const isDeclName =
          parent &&
          [
            'parameter_declaration',
            'variable_declaration',
            'resource_declaration',
            'module_declaration',
            'output_declaration',
            'type_declaration',
            'test_block',
            'assert_statement',
          ].includes(parent.type) &&
          parent.namedChildren.find((c) => c.type === 'identifier').id === node.id;
        if (isDeclName) return;
        const name = node.text;
        const inType = parent && TYPE_CONTAINERS.has(parent.type);
        if (inType && PRIMITIVE_TYPES.has(name)) return;
        if (scope.has(name)) return;
        if (NAMESPACES.has(name)) return;
        if (info.symbols.has(name)) {
          use(name);
          return;
        }
        // A .bicepparam file may refer to its own params.
        if (info.usingPath !== undefined && info.params.has(name)) return;
        report(info.file, node, `"${name}" is not declared`);
        return;
      }
      default:
        for (const c of named(node)) walk(c, scope);
    }
  };
  walk(info.tree.rootNode, new Set());
  return uses;
}

function resolveRelative(info, relative) {
  return path.resolve(path.dirname(info.file), relative);
}

function checkFile(file) {
  const info = load(file);
  checkSyntax(info);
  const uses = checkReferences(info);
  const isParamFile = file.endsWith('.bicepparam');

  // Unused declarations (the linter's no-unused-params / no-unused-vars / no-unused-existing-resources).
  if (!isParamFile) {
    for (const [name, sym] of info.symbols) {
      if (uses.has(name)) continue;
      if (sym.kind === 'param') report(file, sym.node, `parameter "${name}" is declared but never used`);
      if (sym.kind === 'var' && !info.exports.has(name)) report(file, sym.node, `variable "${name}" is never used`);
      if (sym.kind === 'existing') report(file, sym.node, `existing resource "${name}" is never used`);
      if (sym.kind === 'import') report(file, sym.node, `import "${name}" is never used`);
      if (sym.kind === 'type' && !info.exports.has(name)) report(file, sym.node, `type "${name}" is never used`);
    }
  }

  for (const stmt of named(info.tree.rootNode)) {
    if (stmt.type === 'resource_declaration') {
      const typeString = stringValue(stmt.namedChildren.find((c) => c.type === 'string'));
      if (!typeString || !/^[A-Za-z]+\.[A-Za-z.]+\/[A-Za-z/]+@\d{4}-\d{2}-\d{2}(-preview)?$/.test(typeString)) {
        report(file, stmt, `resource type "${typeString}" is not of the form Namespace.Provider/type@yyyy-mm-dd`);
      } else if (typeString.endsWith('-preview')) {
        report(file, stmt, `resource type "${typeString}" uses a preview API version`);
      }
    }
    if (stmt.type === 'import_functionality') {
      const from = stringValue(stmt.namedChildren.find((c) => c.type === 'string'));
      const target = from && resolveRelative(info, from);
      if (!target || !fs.existsSync(target)) {
        report(file, stmt, `imported file "${from}" does not exist`);
      } else {
        const exported = load(target);
        for (const id of stmt.namedChildren.filter((c) => c.type === 'identifier')) {
          if (!exported.exports.has(id.text)) report(file, id, `"${id.text}" is not exported by ${from}`);
        }
      }
    }
    if (stmt.type === 'module_declaration') checkModule(info, stmt);
  }

  // Files loaded at compile time must exist.
  for (const call of info.tree.rootNode.descendantsOfType('call_expression')) {
    const fn = call.childForFieldName('function');
    if (!fn || !/^load(Text|Json|Yaml|FileAsBase64)Content$|^loadFileAsBase64$/.test(fn.text)) continue;
    const arg = call.childForFieldName('arguments').namedChildren[0];
    const rel = stringValue(arg);
    if (rel === undefined) report(file, call, `${fn.text} needs a literal path`);
    else if (!fs.existsSync(resolveRelative(info, rel))) report(file, call, `${fn.text}: file "${rel}" does not exist`);
    else if (fn.text === 'loadJsonContent') {
      try {
        JSON.parse(fs.readFileSync(resolveRelative(info, rel), 'utf8'));
      } catch (err) {
        report(file, call, `loadJsonContent: "${rel}" is not valid JSON (${err.message})`);
      }
    }
  }

  // A parameters file: every param exists in the template, every required template param is given.
  if (isParamFile) {
    if (!info.usingPath) {
      report(file, null, 'a .bicepparam file needs a using statement');
      return;
    }
    const templatePath = resolveRelative(info, info.usingPath);
    if (!fs.existsSync(templatePath)) {
      report(file, null, `using: "${info.usingPath}" does not exist`);
      return;
    }
    const template = load(templatePath);
    const given = new Set(info.assigned);
    for (const stmt of named(info.tree.rootNode)) {
      if (stmt.type !== 'variable_declaration') continue;
      const id = stmt.namedChildren.find((c) => c.type === 'identifier');
      if (info.assigned.includes(id.text) && !template.params.has(id.text)) {
        report(file, id, `"${id.text}" is not a parameter of ${info.usingPath}`);
      }
    }
    for (const [name, p] of template.params) {
      if (p.required && !given.has(name))
        report(file, null, `required parameter "${name}" of ${info.usingPath} is not set`);
    }
  }
}

function checkModule(info, stmt) {
  const modulePath = stringValue(stmt.namedChildren.find((c) => c.type === 'string'));
  if (!modulePath || /^br[:/]|^ts[:/]/.test(modulePath)) {
    report(info.file, stmt, `module "${modulePath}": only local modules are allowed (the build must work offline)`);
    return;
  }
  const target = resolveRelative(info, modulePath);
  if (!fs.existsSync(target)) {
    report(info.file, stmt, `module file "${modulePath}" does not exist`);
    return;
  }
  const moduleInfo = load(target);
  const body = stmt.descendantsOfType('object')[0];
  const paramsProp =
    body && body.namedChildren.find((p) => p.type === 'object_property' && named(p)[0].text === 'params');
  const given = new Set();
  if (paramsProp) {
    const obj = named(paramsProp)[1];
    for (const p of obj.namedChildren.filter((c) => c.type === 'object_property')) {
      const key = named(p)[0].text.replace(/^'|'$/g, '');
      given.add(key);
      if (!moduleInfo.params.has(key)) report(info.file, p, `module ${modulePath} has no parameter "${key}"`);
    }
  }
  for (const [name, p] of moduleInfo.params) {
    if (p.required && !given.has(name))
      report(info.file, stmt, `module ${modulePath}: required parameter "${name}" is not passed`);
  }
  // <module>.outputs.<name> and <module>[i].outputs.<name> must be declared outputs.
  const symbol = stmt.namedChildren.find((c) => c.type === 'identifier').text;
  for (const m of info.tree.rootNode.descendantsOfType('member_expression')) {
    const prop = m.childForFieldName('property');
    const obj = m.childForFieldName('object');
    if (!obj || obj.type !== 'member_expression') continue;
    const inner = obj.childForFieldName('object');
    const innerProp = obj.childForFieldName('property');
    const base = inner && inner.type === 'subscript_expression' ? inner.childForFieldName('object') : inner;
    if (base && base.text === symbol && innerProp && innerProp.text === 'outputs') {
      if (!moduleInfo.outputs.has(prop.text))
        report(info.file, prop, `module ${modulePath} has no output "${prop.text}"`);
    }
  }
}

const files = listFiles(root);
if (files.length === 0) {
  console.error(`bicep-syntax-check: no .bicep files under ${root}`);
  process.exit(2);
}
for (const f of files) checkFile(f);
for (const p of problems) console.error(p);
console.log(
  `bicep-syntax-check: ${files.length} files, ${problems.length} problem(s). ` +
    'Syntax and symbol check with tree-sitter-bicep: NOT A COMPILATION (no types, no resource schemas, no linter).',
);
process.exit(problems.length > 0 ? 1 : 0);
