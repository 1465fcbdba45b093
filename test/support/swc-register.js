// Lets a child process run the TypeScript sources directly (crash tests spawn the real service):
// compiles .ts on require with @swc/core and the project's .swcrc (decorator metadata included,
// which Nest's dependency injection needs and esbuild-based runners do not emit).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const options = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '.swcrc'), 'utf8'));
require.extensions['.ts'] = function compile(module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename, sourceMaps: 'inline' });
  module._compile(code, filename);
};
