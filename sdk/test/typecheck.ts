// Type-checks a small program against the SDK sources with a generated
// types file, through the TypeScript API (no emit).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Returns the diagnostics of compiling `files`, as "file:line: message" strings. */
export function typecheck(files: string[]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    jsx: ts.JsxEmit.ReactJSX,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    skipLibCheck: true,
    types: [],
    typeRoots: [path.join(sdk, 'node_modules/@types')],
    baseUrl: sdk,
    paths: {
      '@walrelay/client': [path.join(sdk, 'src/index.ts')],
      '@walrelay/client/react': [path.join(sdk, 'src/react/index.ts')],
      react: [path.join(sdk, 'node_modules/@types/react/index.d.ts')],
      'react/jsx-runtime': [path.join(sdk, 'node_modules/@types/react/jsx-runtime.d.ts')],
    },
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
    return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}
