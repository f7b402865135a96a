/**
 * Finds the places a TypeScript source writes to the terminal by itself: `process.stdout`,
 * `process.stderr` (also `process["stdout"]`, `const { stderr } = process`, and
 * `import { stdout } from "process"`) and any use of `console`. It reads the syntax tree, so
 * comments, strings and names that merely contain these words (`x.console`, a `stdout:` key)
 * do not count.
 */
import * as ts from "typescript";

const STREAMS = new Set(["stdout", "stderr"]);

export interface PrintingUse {
  line: number;
  text: string;
}

function isProcess(e: ts.Expression): boolean {
  return ts.isIdentifier(e) && e.text === "process";
}

function propertyName(n: ts.PropertyName | ts.BindingName | undefined): string | undefined {
  if (!n) return undefined;
  if (ts.isIdentifier(n) || ts.isStringLiteral(n)) return n.text;
  return undefined;
}

/** Is this `console` identifier a reference to the global, not a property or declaration name? */
function isConsoleReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false; // x.console
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p)) && p.name === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false; // { console: c } = x
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p)) && p.name === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return false;
  if (ts.isQualifiedName(p) || ts.isTypeReferenceNode(p)) return false; // a type named console
  return true;
}

export function findPrinting(fileName: string, text: string): PrintingUse[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: PrintingUse[] = [];
  const add = (n: ts.Node) => {
    const { line } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
    found.push({ line: line + 1, text: n.getText(sf) });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n) && isProcess(n.expression) && STREAMS.has(n.name.text)) add(n);
    else if (ts.isElementAccessExpression(n) && isProcess(n.expression) && ts.isStringLiteralLike(n.argumentExpression) && STREAMS.has(n.argumentExpression.text)) add(n);
    else if (ts.isVariableDeclaration(n) && n.initializer && isProcess(n.initializer) && ts.isObjectBindingPattern(n.name)) {
      for (const el of n.name.elements) if (STREAMS.has(propertyName(el.propertyName ?? el.name) ?? "")) add(el);
    } else if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && /^(node:)?process$/.test(n.moduleSpecifier.text)) {
      const bindings = n.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const s of bindings.elements) if (STREAMS.has((s.propertyName ?? s.name).text)) add(s);
      }
    } else if (ts.isIdentifier(n) && n.text === "console" && isConsoleReference(n)) add(n);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}
