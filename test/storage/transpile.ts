import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/**
 * Transpiles `entry` and every module it imports relatively into outDir (same layout), so a
 * child process can run it with plain `node`: starting through tsx costs ~1 s per spawn on a
 * loaded 2-core box, which the kill -9 test pays 20 times. Type-only imports vanish.
 * Returns the path of the transpiled entry.
 */
export async function transpileTree(entry: string, rootDir: string, outDir: string): Promise<string> {
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'package.json'), '{"type":"module"}\n');
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await readFile(file, 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: false,
      },
      fileName: file,
    });
    const target = join(outDir, relative(rootDir, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, out.outputText);
    for (const m of out.outputText.matchAll(/from\s+'(\.{1,2}\/[^']+)\.js'/g)) {
      queue.push(resolve(dirname(file), `${m[1]}.ts`));
    }
  }
  return join(outDir, relative(rootDir, resolve(entry))).replace(/\.ts$/, '.js');
}
