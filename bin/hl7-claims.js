#!/usr/bin/env node
'use strict';
// The CLI entry point (package.json "bin"): runs the compiled CLI; `npm ci` builds it (prepare).
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('hl7-claims is not built yet: run `npm run build` (npm ci does it) in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(cli).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write('hl7-claims: ' + (e && e.message ? e.message : String(e)) + '\n'); process.exitCode = 1; },
);
