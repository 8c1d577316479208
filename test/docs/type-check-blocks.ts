import { join, relative } from 'node:path';
import ts from 'typescript';
import type { CodeBlock } from './markdown-code-blocks';

/** A compiler diagnostic of one block, placed on the line of its Markdown page. */
export interface BlockDiagnostic {
  /** The block, or `undefined` for a problem in the prelude itself. */
  readonly block: CodeBlock | undefined;
  /** `docs/wrappers.md:312: TS2304 Cannot find name 'key'.` */
  readonly text: string;
}

/** What the check prepends to a block, on one line, so that page lines stay countable. */
const HEADER_LINES = 1;

/**
 * Type-checks Markdown code blocks against the package's sources, all in one `Program`.
 *
 * Each block becomes its own module (declarations in one block never clash with another's),
 * in a virtual folder beside this file, so `checkpointable`, `checkpointable/testing`, ... resolve
 * to `src/` through the `paths` of `test/docs/tsconfig.json`, and `tsyringe`, `pg`, ... to
 * `node_modules`. A fragment may use every export of `checkpointable` and of `./prelude.ts`
 * (variables such as `storage`) without importing it: the check imports every such name the
 * block neither imports nor declares itself. Runnable blocks get no such help: what a reader
 * copies and runs must import what it uses.
 *
 * @example
 * ```ts
 * const problems = typeCheckBlocks(ROOT, manualCodeBlocks(ROOT));
 * expect(problems.map((p) => p.text)).toEqual([]);
 * ```
 * @throws Error when the check's own configuration cannot be read.
 */
export function typeCheckBlocks(root: string, blocks: readonly CodeBlock[]): BlockDiagnostic[] {
  const here = join(root, 'test', 'docs');
  const config = ts.getParsedCommandLineOfConfigFile(join(here, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!config) throw new Error(`cannot read ${join(here, 'tsconfig.json')}`);
  const options = config.options;
  const host = ts.createCompilerHost(options, true);
  const index = join(root, 'src', 'index.ts');
  const prelude = join(here, 'prelude.ts');

  // First the package and the prelude alone, to learn their export names; the second program
  // reuses every source file of this one.
  const base = ts.createProgram({ rootNames: [index, prelude], options, host });
  const packageNames = exportNames(base, index);
  const preludeNames = exportNames(base, prelude);

  const virtualDir = join(here, '.blocks');
  const virtual = new Map<string, { block: CodeBlock; text: string }>();
  for (const block of blocks) {
    const name = `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-L${block.line}.ts`;
    virtual.set(join(virtualDir, name), {
      block,
      text: withHeader(block, packageNames, preludeNames, virtualDir, prelude),
    });
  }

  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const entry = virtual.get(fileName);
    if (entry) return ts.createSourceFile(fileName, entry.text, languageVersion, true);
    return getSourceFile(fileName, languageVersion, ...rest);
  };
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists(fileName);
  host.readFile = (fileName) => virtual.get(fileName)?.text ?? readFile(fileName);

  const program = ts.createProgram({
    rootNames: [index, prelude, ...virtual.keys()],
    options,
    host,
    oldProgram: base,
  });
  const problems: BlockDiagnostic[] = [];
  // The prelude is checked too: a mistake there would otherwise hide behind the blocks.
  const preludeFile = program.getSourceFile(prelude)!;
  for (const diagnostic of [
    ...program.getSyntacticDiagnostics(preludeFile),
    ...program.getSemanticDiagnostics(preludeFile),
  ]) {
    const { line } = preludeFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    problems.push({
      block: undefined,
      text: `${relative(root, prelude)}:${line + 1}: TS${diagnostic.code} ${message}`,
    });
  }
  for (const [fileName, { block }] of virtual) {
    const sourceFile = program.getSourceFile(fileName)!;
    const diagnostics = [
      ...program.getSyntacticDiagnostics(sourceFile),
      ...program.getSemanticDiagnostics(sourceFile),
    ];
    const codeLines = block.code.split('\n').length;
    for (const diagnostic of diagnostics) {
      const { line } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
      const restated =
        line - HEADER_LINES >= codeLines ? restatedName(sourceFile, line) : undefined;
      if (restated !== undefined) {
        // One of the lines appended by withHeader: the restated interface has drifted.
        problems.push({
          block,
          text: `${block.file}:${block.line}: interface ${restated} differs from the package's ${restated}: TS${diagnostic.code} ${message}`,
        });
        continue;
      }
      const pageLine = block.line + line - HEADER_LINES;
      problems.push({ block, text: `${block.file}:${pageLine}: TS${diagnostic.code} ${message}` });
    }
  }
  return problems;
}

function exportNames(program: ts.Program, fileName: string): Set<string> {
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(fileName);
  const symbol = sourceFile && checker.getSymbolAtLocation(sourceFile);
  if (!symbol) throw new Error(`${fileName} is not a module the compiler can read`);
  return new Set(checker.getExportsOfModule(symbol).map((s) => s.name));
}

/** The block as a module of its own, with the imports a fragment may leave out. */
function withHeader(
  block: CodeBlock,
  packageNames: ReadonlySet<string>,
  preludeNames: ReadonlySet<string>,
  virtualDir: string,
  prelude: string,
): string {
  const parts: string[] = [];
  if (!block.runnable) {
    const own = topLevelNames(block.code);
    const missing = (names: ReadonlySet<string>) => [...names].filter((n) => !own.has(n)).sort();
    const fromPackage = missing(packageNames);
    const fromPrelude = missing(preludeNames).filter((n) => !packageNames.has(n));
    let preludePath = relative(virtualDir, prelude).replace(/\\/g, '/').replace(/\.ts$/, '');
    if (!preludePath.startsWith('.')) preludePath = `./${preludePath}`;
    if (fromPackage.length)
      parts.push(`import { ${fromPackage.join(', ')} } from 'checkpointable';`);
    if (fromPrelude.length)
      parts.push(`import { ${fromPrelude.join(', ')} } from '${preludePath}';`);
  }
  parts.push('export {};');
  return `${parts.join(' ')}\n${block.code}\n${restatementChecks(block.code, packageNames)}`;
}

const RESTATED = '__restates_';

/**
 * A block may restate an interface of the package (`interface Storage { ... }`) to show it.
 * Such a restatement must not drift: one line per restated interface asks the compiler
 * whether the package's interface has every member the page shows, with the types it shows.
 */
function restatementChecks(code: string, packageNames: ReadonlySet<string>): string {
  const file = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true);
  return file.statements
    .filter(ts.isInterfaceDeclaration)
    .filter((i) => packageNames.has(i.name.text) && !i.typeParameters)
    .map((i) => {
      const name = i.name.text;
      return `export const ${RESTATED}${name}: ${name} = undefined as unknown as import('checkpointable').${name};\n`;
    })
    .join('');
}

/** The interface a line appended by `restatementChecks` checks, if it is one. */
function restatedName(sourceFile: ts.SourceFile, line: number): string | undefined {
  const start = sourceFile.getPositionOfLineAndCharacter(line, 0);
  const text = sourceFile.text.slice(start, sourceFile.text.indexOf('\n', start));
  return new RegExp(`${RESTATED}(\\w+):`).exec(text)?.[1];
}

/** Names a block imports or declares at its top level (those are never auto-imported). */
function topLevelNames(code: string): Set<string> {
  const file = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings))
        for (const e of bindings.elements) names.add(e.name.text);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      names.add(statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isModuleDeclaration(statement)
    ) {
      if (statement.name && ts.isIdentifier(statement.name)) names.add(statement.name.text);
    }
  }
  return names;
}
