// `npm start` / `node dist/src/main.js`: the service (same as `hl7-claims serve`).
import { main } from './cli';

main(['serve', ...process.argv.slice(2)]).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`hl7-claims: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
