/**
 * The import graph of a source tree, read with the TypeScript parser (syntax
 * only, no type checking): every static `import` and `export … from`,
 * `import type`, `import x = require(…)`, type-position `import('…')`,
 * dynamic `import('…')` with a literal specifier, and modules named by URL
 * (`siblingModuleUrl('./x', import.meta.url)`, `new URL('./x.mjs',
 * import.meta.url)`), since worker threads and actor factories are loaded
 * that way. Package and `node:` specifiers are not edges. A relative
 * specifier that names no file of the tree is kept as an unresolved edge.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';

/** How a module is named: a value import, a type-only import, a dynamic `import()`, or a module URL. */
export type EdgeKind = 'value' | 'type' | 'dynamic' | 'url';

/** One edge: `from` names `specifier` on `line`; `to` is the file it resolves to (null when none exists). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string | null;
  readonly specifier: string;
  readonly kind: EdgeKind;
  readonly line: number;
}

/** Module file extensions a URL literal may name; other URLs (data files, folders) are not edges. */
const MODULE_EXTENSIONS = ['.ts', '.js', '.mjs', '.cjs'];

/** The edges of every file in `files` (relative to `root`), in file order, then source order. */
export function importGraph(root: string, files: readonly string[]): ImportEdge[] {
  return files.flatMap((file) => fileImports(root, file));
}

/** The edges of one file of the tree at `root`. */
export function fileImports(root: string, file: string): ImportEdge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (node: ts.Node, specifier: string, kind: EdgeKind, resolved: string | null): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    edges.push({ from: file, to: resolved, specifier, kind, line });
  };
  const visit = (node: ts.Node): void => {
    const found = moduleReference(node);
    if (found?.specifier.startsWith('.')) {
      add(node, found.specifier, found.kind, resolve(root, file, found.specifier, found.kind));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The module `node` names and how, or null when it names none. */
function moduleReference(node: ts.Node): { specifier: string; kind: EdgeKind } | null {
  if (ts.isImportDeclaration(node)) return literal(node.moduleSpecifier, importKind(node));
  if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
    return literal(node.moduleSpecifier, exportKind(node));
  }
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    return literal(node.moduleReference.expression, node.isTypeOnly ? 'type' : 'value');
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) return literal(node.argument.literal, 'type');
  if (ts.isCallExpression(node)) return callReference(node);
  if (ts.isNewExpression(node)) return urlReference(node);
  return null;
}

function callReference(node: ts.CallExpression): { specifier: string; kind: EdgeKind } | null {
  const [first, second] = node.arguments;
  if (first === undefined) return null;
  if (node.expression.kind === ts.SyntaxKind.ImportKeyword) return literal(first, 'dynamic');
  const callee = node.expression;
  const named = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
  if (named === 'siblingModuleUrl' && second !== undefined && isImportMetaUrl(second)) return literal(first, 'url');
  return null;
}

function urlReference(node: ts.NewExpression): { specifier: string; kind: EdgeKind } | null {
  if (!ts.isIdentifier(node.expression) || node.expression.text !== 'URL') return null;
  const [first, second] = node.arguments ?? [];
  if (first === undefined || second === undefined || !isImportMetaUrl(second)) return null;
  const found = literal(first, 'url');
  if (found === null || !MODULE_EXTENSIONS.some((extension) => found.specifier.endsWith(extension))) return null;
  return found;
}

function isImportMetaUrl(node: ts.Expression): boolean {
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === 'url' &&
    ts.isMetaProperty(node.expression) &&
    node.expression.keywordToken === ts.SyntaxKind.ImportKeyword
  );
}

function literal(node: ts.Node, kind: EdgeKind): { specifier: string; kind: EdgeKind } | null {
  return ts.isStringLiteralLike(node) ? { specifier: node.text, kind } : null;
}

function importKind(node: ts.ImportDeclaration): EdgeKind {
  const clause = node.importClause;
  if (clause === undefined) return 'value';
  if (clause.isTypeOnly) return 'type';
  const bindings = clause.namedBindings;
  const allTypes =
    clause.name === undefined &&
    bindings !== undefined &&
    ts.isNamedImports(bindings) &&
    bindings.elements.length > 0 &&
    bindings.elements.every((element) => element.isTypeOnly);
  return allTypes ? 'type' : 'value';
}

function exportKind(node: ts.ExportDeclaration): EdgeKind {
  if (node.isTypeOnly) return 'type';
  const clause = node.exportClause;
  const allTypes =
    clause !== undefined &&
    ts.isNamedExports(clause) &&
    clause.elements.length > 0 &&
    clause.elements.every((element) => element.isTypeOnly);
  return allTypes ? 'type' : 'value';
}

/**
 * The file of the tree `specifier` names from `file`: a `.js` specifier is
 * the `.ts` source beside it (NodeNext), a `siblingModuleUrl` path gets the
 * `.ts` extension it is given when running from source.
 */
function resolve(root: string, file: string, specifier: string, kind: EdgeKind): string | null {
  const target = posix.normalize(posix.join(posix.dirname(file), specifier));
  const candidates = [target];
  if (target.endsWith('.js')) candidates.unshift(`${target.slice(0, -3)}.ts`);
  if (kind === 'url' && !MODULE_EXTENSIONS.some((extension) => target.endsWith(extension))) {
    candidates.unshift(`${target}.ts`);
  }
  return candidates.find((candidate) => !candidate.startsWith('..') && existsSync(join(root, candidate))) ?? null;
}
