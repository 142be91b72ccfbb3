/**
 * Tidiness rules for the source tree: no function longer than FUNCTION_LINES_MAX
 * lines of body, no line wider than LINE_COLUMNS_MAX columns. Functions are
 * function declarations, methods, constructors, accessors, function
 * expressions and arrow functions, nested ones included (a long closure is a
 * long function even when the function around it is short). A block body is
 * measured as the lines between its braces; an expression body (an arrow
 * function's) as the lines it spans. Columns are counted in code points.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** The most lines of body a function may have. */
export const FUNCTION_LINES_MAX = 70;

/** The most columns a line may have. */
export const LINE_COLUMNS_MAX = 120;

/** A function longer than allowed: where it starts, its name, how many lines its body has. */
export interface LongFunction {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly bodyLines: number;
}

/** A line wider than allowed. */
export interface LongLine {
  readonly file: string;
  readonly line: number;
  readonly columns: number;
}

/** The functions of `file` (relative to `root`) whose body has more than `linesMax` lines, in source order. */
export function longFunctions(root: string, file: string, linesMax = FUNCTION_LINES_MAX): LongFunction[] {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (position: number): number => source.getLineAndCharacterOfPosition(position).line;
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (isFunction(node) && node.body !== undefined) {
      const first = lineOf(node.body.getStart(source));
      const last = lineOf(node.body.getEnd());
      const bodyLines = ts.isBlock(node.body) ? Math.max(0, last - first - 1) : last - first + 1;
      if (bodyLines > linesMax) {
        found.push({ file, line: lineOf(node.getStart(source)) + 1, name: functionName(node, source), bodyLines });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The lines of `file` (relative to `root`) wider than `columnsMax` columns. */
export function longLines(root: string, file: string, columnsMax = LINE_COLUMNS_MAX): LongLine[] {
  const lines = readFileSync(join(root, file), 'utf8').split(/\r?\n/);
  const found: LongLine[] = [];
  lines.forEach((text, index) => {
    const columns = [...text].length;
    if (columns > columnsMax) found.push({ file, line: index + 1, columns });
  });
  return found;
}

function isFunction(node: ts.Node): node is ts.FunctionLikeDeclaration {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node)
  );
}

/** The function's own name, else the name it is bound to (variable, property), else `(anonymous)`. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  if (node.name !== undefined) return node.name.getText(source);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) {
    return parent.name.getText(source);
  }
  return '(anonymous)';
}

/** One line for a report. */
export function describeLongFunction(found: LongFunction): string {
  return `${found.file}:${found.line} ${found.name}: ${found.bodyLines} lines`;
}

/** One line for a report. */
export function describeLongLine(found: LongLine): string {
  return `${found.file}:${found.line}: ${found.columns} columns`;
}
