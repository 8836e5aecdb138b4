// Compiles apps/ and libs/ to dist/ with SWC (decorator metadata for Nest, path aliases
// from tsconfig.base.json rewritten to relative imports). Type checking is `npm run typecheck`.
import { transformFile } from '@swc/core';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const finalDir = join(root, 'dist');
// Build beside dist/ and swap it in at the end, so a process running from dist/ (a test
// server, a second Jest run) never sees it half-deleted.
const outDir = join(root, `dist.build-${process.pid}`);
const tsconfig = JSON.parse(await readFile(join(root, 'tsconfig.base.json'), 'utf8'));
const swcrc = JSON.parse(await readFile(join(root, '.swcrc'), 'utf8'));

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === '__fixtures__') continue;
      yield* sources(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.spec.ts')) {
      yield path;
    }
  }
}

await rm(outDir, { recursive: true, force: true });
const jobs = [];
for (const top of ['apps', 'libs']) {
  for await (const file of sources(join(root, top))) {
    jobs.push(
      (async () => {
        const out = await transformFile(file, {
          ...swcrc,
          swcrc: false,
          filename: file,
          sourceFileName: relative(join(outDir, dirname(relative(root, file))), file),
          jsc: { ...swcrc.jsc, baseUrl: root, paths: tsconfig.compilerOptions.paths },
        });
        const target = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, out.code + `\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
        if (out.map) await writeFile(`${target}.map`, out.map);
      })(),
    );
  }
}
await Promise.all(jobs);
const retired = join(root, `dist.old-${process.pid}`);
await rename(finalDir, retired).catch((err) => {
  if (err.code !== 'ENOENT') throw err;
});
await rename(outDir, finalDir);
await rm(retired, { recursive: true, force: true });
console.log(`built ${jobs.length} files into ${relative(process.cwd(), finalDir) || '.'}`);
