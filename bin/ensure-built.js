#!/usr/bin/env node
'use strict';
// `npm start` builds only when dist/ is older than the sources: the newest file under src/ and
// migrations/, and the tsconfig files, against dist/main.js (a full build rewrites every output).
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function newest(dir) {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return latest;
}

/** Why dist/ must be built again, or null when it is current. */
function staleReason(root) {
  const built = path.join(root, 'dist', 'main.js');
  if (!fs.existsSync(built)) return 'dist/main.js is missing';
  const at = fs.statSync(built).mtimeMs;
  const sources = [path.join(root, 'src'), path.join(root, 'migrations')].filter((d) => fs.existsSync(d)).map(newest);
  const configs = fs.readdirSync(root).filter((f) => /^tsconfig.*\.json$/.test(f)).map((f) => fs.statSync(path.join(root, f)).mtimeMs);
  return Math.max(0, ...sources, ...configs) > at ? 'sources changed since the last build' : null;
}

module.exports = { staleReason };

if (require.main === module) {
  const root = path.join(__dirname, '..');
  const reason = staleReason(root);
  if (reason !== null) {
    process.stderr.write(`hl7-claims: building (${reason})\n`);
    const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    process.exit(r.status === null ? 1 : r.status);
  }
}
