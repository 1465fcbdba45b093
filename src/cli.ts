/**
 * The CLI's entry (package.json "bin" runs dist/cli.js through bin/hl7-claims.js): the dispatcher
 * and each command group live in src/cli/.
 */
import { logger } from './common/logger';
import { main } from './cli/index';

export { main };

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      logger('cli').error({ event: 'cli_failed', err: e instanceof Error ? e.name : 'unknown' });
      process.stderr.write(`hl7-claims: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
