import 'reflect-metadata';
import pino from 'pino';
import { rootLogger, setRootLogger } from '../common/logger';
import { ConfigError, loadConfig, type AppConfig } from '../config/config';
import { DatabaseUnreachableError } from '../database/database';
import { batches, acks, claims, scrub, submit } from './claims';
import { codesets } from './codesets';
import { contextOf, EXIT, type Command } from './context';
import { ingest, messages, send } from './intake';
import { remittances } from './remittances';
import { db, demo, serve } from './service';
import { users } from './users';

const USAGE = `hl7-claims — HL7 v2 billing intake and claims

Usage:
  hl7-claims serve                              run the MLLP listener and the HTTP API
  hl7-claims ingest FILE... [--json]            ingest files (single messages, multi-message files, FHS/BHS batches)
  hl7-claims messages reprocess ID... [--json]  re-run messages in status error
  hl7-claims messages reprocess --status error  re-run every message in error
  hl7-claims db migrate [--json]                apply pending migrations
  hl7-claims send FILE... [--host H] [--port P] send messages to an MLLP listener and print each ACK
  hl7-claims claims build [ENCOUNTER_ID...]     build claims from encounters with unbilled charges (all when no id)
  hl7-claims batches create [--out DIR]         batch ready claims into 837 files (and write them to DIR)
  hl7-claims acks import FILE...                import 999 and 277CA files (each file once)
  hl7-claims remittances import FILE... [--json]
                                                import 835 files: matched to the claims sent, posted and balanced (each file
                                                and each payment once); one summary per file
  hl7-claims remittances list [--payer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                                the remittances (payments) imported, newest first
  hl7-claims remittances unmatched              claim and service payments waiting to be matched, with the reason
  hl7-claims remittances match PAYMENT_ID CLAIM_ID
                                                post an unmatched claim payment to a claim
  hl7-claims remittances match-line SERVICE_PAYMENT_ID CLAIM_LINE_ID
                                                match an unmatched service payment to a line of its claim
  hl7-claims scrub [--claims ID,...] [--encounters ID,...]
                                                dry run of the scrubber (all unbatched claims when no ids); changes nothing
  hl7-claims codesets import KIND FILE [--label L]
                                                load a code-set file: icd10cm, icd10pcs (--label FY2028), hcpcs, pfs (--label CY2026),
                                                modifiers, ncci, mue, carc, rarc (CMS/CDC/X12 layouts; each file once, all or nothing)
  hl7-claims codesets list                      the code sets loaded
  hl7-claims submit                             run the submission job once: build, batch, deliver, fetch responses
  hl7-claims users add EMAIL --role admin|biller|viewer [--generate]
                                                a staff account for the web app; the password is read from stdin's first line
                                                (asked twice on a terminal), or generated and printed once (--generate)
  hl7-claims users list | disable EMAIL | enable EMAIL | password EMAIL [--generate]
  hl7-claims users token EMAIL --name WHAT [--expires-days N]
                                                a personal API token (printed once) acting with that person's role, audited
  hl7-claims users tokens [EMAIL] | revoke-token ID
  hl7-claims demo [--out DIR] [--keep]          on a throw-away embedded database: ingest fixtures/demo/feed.hl7, build claims,
                                                deliver the 837 files to DIR (./out), post the payers' 835, bill the secondary, explain;
                                                --keep: into the database \`npm start\` uses, to open the work queue in the web app

Options: --json  stdout carries exactly one JSON document, the result (logs go to stderr)
         --verbose  log at info (one-shot commands log warnings and errors only; LOG_LEVEL overrides)

Exit codes: 0 done; 1 some input refused or failed (the output says which); 2 usage;
3 database unreachable.

Configuration comes from the environment (see README). Without DATABASE_URL an embedded
PostgreSQL under DATA_DIR (./data) is used.`;


/** Each command group in its own module; this only parses the common options and dispatches. */
const COMMANDS: Record<string, Command> = {
  serve, db, demo, ingest, messages, send, claims, batches, submit, acks, scrub, remittances, codesets, users,
};

/** Writing to a closed pipe (`... --json | head`) ends the command quietly. */
let pipeGuarded = false;
function guardPipes(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.done);
      throw e;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  guardPipes();
  const json = argv.includes('--json');
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--json' && a !== '--verbose');
  const [command, sub, ...rest] = args;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE + '\n');
    return EXIT.done;
  }
  const run = COMMANDS[command ?? 'serve'];
  if (run === undefined) {
    process.stderr.write(USAGE + '\n');
    return EXIT.usage;
  }
  // Logs never go to stdout, which carries the result; a one-shot command logs only warnings and
  // errors unless --verbose or LOG_LEVEL says otherwise. The service logs to stdout as services do.
  if (run !== serve) setRootLogger(pino({ level: process.env.LOG_LEVEL ?? (verbose ? 'info' : 'warn'), base: { service: 'hl7-claims' } }, pino.destination({ fd: 2, sync: true })));
  else if (verbose) rootLogger().level = process.env.LOG_LEVEL ?? 'info';
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      return EXIT.usage;
    }
    throw e;
  }
  try {
    return await run(contextOf(config, json), sub, rest);
  } catch (e) {
    if (!(e instanceof DatabaseUnreachableError)) throw e;
    process.stderr.write(`hl7-claims: ${e.message}\n`);
    return EXIT.database;
  }
}
