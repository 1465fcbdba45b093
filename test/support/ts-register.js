// Lets a process run the TypeScript sources directly (the crash test spawns the real service, the
// benchmark runs its load generator): compiles .ts on require with TypeScript's transpileModule and
// the project's compiler options (decorator metadata included, which Nest's injection needs).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const configFile = path.join(__dirname, '..', '..', 'tsconfig.json');
const { config } = ts.readConfigFile(configFile, ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, path.dirname(configFile));
const compilerOptions = { ...options, module: ts.ModuleKind.CommonJS, sourceMap: false, inlineSourceMap: true, noEmit: false, declaration: false };

require.extensions['.ts'] = function compile(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
