// Runs a TypeScript entry point in a plain `node` child process (the bus contract suite's
// crash tests SIGKILL such a child). Compiles on the fly with @swc/core, the same compiler
// and settings Jest uses (.swcrc), and resolves the @axon/* aliases of tsconfig.base.json.
//   node run-ts.js <entry.ts> [args...]
'use strict';
const { readFileSync, existsSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');
const Module = require('node:module');
const { transformSync } = require('@swc/core');

function findRoot(start) {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tsconfig.base.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`run-ts: no tsconfig.base.json above ${start}`);
  }
}

const root = findRoot(__dirname);
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
const { paths } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveAlias(request, parent, ...rest) {
  const target = paths[request];
  return originalResolve.call(this, target ? join(root, target[0]) : request, parent, ...rest);
};

require.extensions['.ts'] = function compileTs(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    ...swcrc,
    swcrc: false,
    filename,
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

const entry = process.argv[2];
if (!entry) throw new Error('usage: node run-ts.js <entry.ts> [args...]');
require(resolve(entry));
