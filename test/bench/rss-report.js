// Preloaded into a process the benchmark measures (`node -r ./rss-report.js dist/cli.js ...`):
// at exit, writes the process's peak resident set size in KiB (getrusage ru_maxrss) to the file
// named by HL7C_RSS_FILE. The product is run unchanged.
'use strict';
const fs = require('node:fs');

process.on('exit', () => {
  if (process.env.HL7C_RSS_FILE) fs.writeFileSync(process.env.HL7C_RSS_FILE, String(process.resourceUsage().maxRSS));
});
