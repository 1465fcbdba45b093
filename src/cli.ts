import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { logger, PinoNestLogger } from './common/logger';
import { ConfigError, loadConfig, type AppConfig } from './config/config';
import { migrate, openDatabase } from './database/database';
import { ClaimsService } from './modules/claims/claims.service';
import { CodeSetsService } from './modules/scrubber/codesets.service';
import { ScrubberRepository } from './modules/scrubber/scrubber.repository';
import { ScrubberService } from './modules/scrubber/scrubber.service';
import { IMPORT_KINDS, labelFromFileName, type ImportKind } from './lib/codes/kinds';
import { CodeSetFileError } from './lib/codes/tables';
import { IntakeService, summarize, ReprocessError } from './modules/intake/intake.service';
import { AckMismatchError, AcknowledgementsService, type AckImportSummary } from './modules/submission/acknowledgements.service';
import { BatchesService } from './modules/submission/batches.service';
import { writeFileWhole } from './modules/submission/delivery';
import { SubmissionService } from './modules/submission/submission.service';
import { X12ReadError } from './lib/x12';
import type { StoredMessage } from './modules/intake/intake.types';
import { startService } from './service';
import { sendFiles } from './mllp-send';
import { runDemo } from './demo';
import { RemittanceQueries } from './modules/remittance/remittance.queries';
import { RemittanceMatchError, RemittanceService, type RemitImportSummary } from './modules/remittance/remittance.service';
import { fileSource } from './modules/remittance/source';
import { usersCommand } from './cli-users';

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

Configuration comes from the environment (see README). Without DATABASE_URL an embedded
PostgreSQL under DATA_DIR (./data) is used.`;

function out(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value) + '\n' : text + '\n');
}

async function withApp<T>(config: AppConfig, fn: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, db.dataSource, 'cli-has-no-http', 'cli'), { logger: new PinoNestLogger(), abortOnError: false });
    try {
      return await fn(app);
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}

function withIntake<T>(config: AppConfig, fn: (intake: IntakeService) => Promise<T>): Promise<T> {
  return withApp(config, (app) => fn(app.get(IntakeService)));
}

export async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const [command, sub, ...rest] = args;
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n');
      return 2;
    }
    throw e;
  }
  switch (command) {
    case 'serve':
    case undefined: {
      const svc = await startService(config);
      process.stdout.write(`hl7-claims: MLLP on ${config.MLLP_HOST}:${svc.mllpPort}, HTTP on http://${config.HTTP_HOST}:${svc.httpPort} (API docs at /docs)\n`);
      if (config.API_TOKEN === undefined) process.stdout.write(`API token: in ${resolve(config.DATA_DIR, 'api-token')}\n`);
      await new Promise<void>((done) => {
        const stop = (): void => {
          void svc.stop().then(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    }
    case 'ingest': {
      const files = [sub, ...rest].filter((f): f is string => f !== undefined);
      if (files.length === 0) {
        process.stderr.write('ingest needs at least one FILE\n');
        return 2;
      }
      const stored = await withIntake(config, async (intake) => {
        const all: StoredMessage[] = [];
        for (const f of files) {
          const r = await intake.ingestBytes(readFileSync(f), { source: 'file', connectionId: `file:${f}`, charset: config.MLLP_CHARSET });
          all.push(...r.stored);
        }
        return all;
      });
      const summary = summarize(stored);
      out(json, summary, `${summary.messages} messages: ${summary.processed} processed, ${summary.duplicates} duplicates, ${summary.errors} errors, ${summary.rejected} rejected, ${summary.ignored} ignored`);
      return summary.errors + summary.rejected > 0 ? 1 : 0;
    }
    case 'messages': {
      if (sub !== 'reprocess') break;
      const all = rest[0] === '--status';
      if (all && rest[1] !== 'error') {
        process.stderr.write('only --status error can be reprocessed\n');
        return 2;
      }
      const results = await withIntake(config, async (intake) => {
        const ids = all ? await intake.errorIds() : rest;
        const r: { id: string; status: string; error?: string; charges: number }[] = [];
        for (const id of ids) {
          try {
            const x = await intake.reprocess(id);
            r.push({ id, status: x.status, error: x.error, charges: x.charges });
          } catch (e) {
            if (!(e instanceof ReprocessError)) throw e;
            r.push({ id, status: e.code, error: e.message, charges: 0 });
          }
        }
        return r;
      });
      const fixed = results.filter((r) => r.status === 'processed' || r.status === 'ignored').length;
      out(json, { reprocessed: results.length, processed: fixed, stillFailing: results.length - fixed, results }, results.map((r) => `${r.id}: ${r.status}${r.error !== undefined ? ` (${r.error})` : ''}`).join('\n') || 'nothing to reprocess');
      return results.length - fixed > 0 ? 1 : 0;
    }
    case 'db': {
      if (sub !== 'migrate') break;
      const db = await openDatabase(config, { migrate: false });
      try {
        const done = await migrate(db.dataSource);
        out(json, { migrated: done }, done.length ? `applied: ${done.join(', ')}` : 'schema is up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'send': {
      const opts = { host: config.MLLP_HOST, port: config.MLLP_PORT };
      const files: string[] = [];
      const list = [sub, ...rest].filter((a): a is string => a !== undefined);
      for (let i = 0; i < list.length; i++) {
        const a = list[i] as string;
        if (a === '--host') opts.host = list[++i] ?? opts.host;
        else if (a === '--port') opts.port = Number(list[++i] ?? opts.port);
        else files.push(a);
      }
      if (files.length === 0) {
        process.stderr.write('send needs at least one FILE\n');
        return 2;
      }
      const acks = await sendFiles(files, opts.host, opts.port);
      out(json, acks.map((a) => ({ file: a.file, ack: a.code, controlId: a.controlId, error: a.error })), acks.map((a) => `${a.file}: ${a.code} ${a.controlId}${a.error ? ` (${a.error})` : ''}`).join('\n'));
      return acks.every((a) => a.code === 'AA' || a.code === 'CA') ? 0 : 1;
    }
    case 'claims': {
      if (sub !== 'build') break;
      if (rest.some((id) => !/^\d{1,18}$/.test(id))) {
        process.stderr.write('claims build takes encounter ids (numbers)\n');
        return 2;
      }
      const summary = await withApp(config, (app) => app.get(ClaimsService).build({ encounterIds: rest.length > 0 ? rest : undefined, actor: 'cli' }));
      out(json, summary, `${summary.encounters} encounters: ${summary.created} claims created, ${summary.updated} updated; ${summary.ready} ready, ${summary.held} held; ${summary.skipped} skipped`);
      return 0;
    }
    case 'batches': {
      if (sub !== 'create') break;
      const outAt = rest.indexOf('--out');
      const dir = outAt >= 0 ? rest[outAt + 1] : undefined;
      if (outAt >= 0 && dir === undefined) {
        process.stderr.write('--out needs a folder\n');
        return 2;
      }
      const batches = await withApp(config, async (app) => {
        const service = app.get(BatchesService);
        const created = await service.create({ actor: 'cli' });
        if (dir !== undefined) for (const b of created) await writeFileWhole(dir, b.fileName, service.file(b.id));
        return created;
      });
      out(json, { batches }, batches.length === 0 ? 'no ready claims' : batches.map((b) => `batch ${b.id}: ${b.claims} ${b.claimType} claims for ${b.clearinghouse}, ${b.totalCharge} billed, ISA13 ${b.interchangeControlNumber}, ${b.fileName}${dir !== undefined ? ` in ${dir}` : ''}`).join('\n'));
      return 0;
    }
    case 'demo': {
      const args2 = [sub, ...rest].filter((a): a is string => a !== undefined);
      const outAt = args2.indexOf('--out');
      const dir = resolve(outAt >= 0 ? (args2[outAt + 1] ?? 'out') : 'out');
      const demo = await runDemo(dir, withApp, { keep: args2.includes('--keep') });
      out(json, demo.summary, demo.text);
      return 0;
    }
    case 'submit': {
      const run = await withApp(config, (app) => app.get(SubmissionService).runOnce('cli'));
      const text = !run.ran
        ? 'another instance is running the submission job'
        : [
            `claims: ${run.built?.created ?? 0} created, ${run.built?.updated ?? 0} updated (${run.built?.ready ?? 0} ready, ${run.built?.held ?? 0} held)`,
            `batches: ${run.batches.length} created, ${run.deliveries.filter((d) => d.delivered).length} delivered`,
            `responses: ${run.responses.filter((r) => r.result).length} imported, ${run.responses.filter((r) => r.refused !== undefined).length} refused`,
          ].join('\n');
      out(json, run, text);
      return run.ran ? 0 : 1;
    }
    case 'acks': {
      if (sub !== 'import') break;
      if (rest.length === 0) {
        process.stderr.write('acks import needs at least one FILE\n');
        return 2;
      }
      const results = await withApp(config, async (app) => {
        const acks = app.get(AcknowledgementsService);
        const r: ({ file: string } & (AckImportSummary | { error: string }))[] = [];
        for (const file of rest) {
          try {
            r.push({ file, ...(await acks.import(readFileSync(file), { fileName: basename(file), actor: 'cli' })) });
          } catch (e) {
            if (!(e instanceof X12ReadError || e instanceof AckMismatchError)) throw e;
            r.push({ file, error: e.message });
          }
        }
        return r;
      });
      out(json, results, results.map((x) => ('error' in x ? `${x.file}: refused (${x.error})` : `${x.file}: ${x.kind}${x.duplicate ? ' already imported, nothing changed' : `: ${x.accepted} accepted, ${x.rejected} rejected, ${x.unchanged} unchanged${x.unmatched.length ? `, ${x.unmatched.length} unknown claims` : ''}`}`)).join('\n'));
      return results.some((x) => 'error' in x) ? 1 : 0;
    }
    case 'remittances':
      return remittances(config, json, sub, rest);
    case 'scrub': {
      const args2 = [sub, ...rest].filter((a): a is string => a !== undefined);
      const ids = (flag: string): string[] | undefined => {
        const at = args2.indexOf(flag);
        return at < 0 ? undefined : (args2[at + 1] ?? '').split(',').filter((x) => x !== '');
      };
      const claimIds = ids('--claims');
      const encounterIds = ids('--encounters');
      if ([...(claimIds ?? []), ...(encounterIds ?? [])].some((id) => !/^\d{1,18}$/.test(id)) || (claimIds?.length === 0 || encounterIds?.length === 0)) {
        process.stderr.write('scrub takes --claims ID,ID and/or --encounters ID,ID (numbers)\n');
        return 2;
      }
      const result = await withApp(config, async (app) => {
        const scrubber = app.get(ScrubberService);
        const all = claimIds === undefined && encounterIds === undefined;
        const claims = await scrubber.dryRun(claimIds ?? (all ? await app.get(ScrubberRepository).unbatched(null, 100_000) : []));
        const encounters = encounterIds ? await app.get(ClaimsService).dryRunEncounters(encounterIds) : [];
        return { claims, encounters };
      });
      const describe = (f: { ruleId: string; severity: string; line?: number; loop: string; message: string }): string => `     ${f.severity} ${f.ruleId}${f.line !== undefined ? ` line ${f.line}` : ''} (${f.loop}): ${f.message}`;
      const text = [
        ...result.claims.flatMap((c) => [`claim ${c.claimId}: ${c.status}, would be ${c.wouldBe}`, ...c.findings.map(describe)]),
        ...result.encounters.flatMap((e) => [`encounter ${e.encounterId}:${e.skipped !== undefined ? ` ${e.skipped}` : ''}`, ...e.claims.flatMap((c) => [`  ${c.claimType} claim part ${c.part}: would be ${c.wouldBe}`, ...c.findings.map(describe)])]),
      ];
      out(json, result, text.length > 0 ? text.join('\n') : 'no claims to scrub');
      return 0;
    }
    case 'codesets': {
      if (sub === 'list') {
        const list = await withApp(config, (app) => app.get(CodeSetsService).list());
        out(json, list, list.loaded.map((l) => `${l.kind} ${l.label}: ${l.rows} rows (${l.source})`).join('\n'));
        return 0;
      }
      if (sub !== 'import') break;
      const labelAt = rest.indexOf('--label');
      const label = labelAt >= 0 ? rest[labelAt + 1] : undefined;
      const [kind, file] = rest.filter((_, i) => labelAt < 0 || (i !== labelAt && i !== labelAt + 1));
      if (kind === undefined || file === undefined) {
        process.stderr.write('codesets import needs KIND and FILE\n');
        return 2;
      }
      try {
        const r = await withApp(config, (app) =>
          app.get(CodeSetsService).import(kind, { name: basename(file), content: readFileSync(file) }, label ?? (IMPORT_KINDS.includes(kind as ImportKind) ? labelFromFileName(kind as ImportKind, basename(file)) : undefined), 'cli'),
        );
        out(json, r, `${r.kind} ${r.label} from ${r.fileName}: ${r.rows} rows${r.created ? ' imported' : ' (this file was imported before: nothing changed)'}`);
        return 0;
      } catch (e) {
        if (!(e instanceof CodeSetFileError)) throw e;
        process.stderr.write(`${file}: refused: ${e.message}\n`);
        return 1;
      }
    }
    case 'users':
      return usersCommand((fn) => withApp(config, fn), json, sub, rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    default:
      break;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}

/** `hl7-claims remittances ...`: import, list, the unmatched queue, matching by hand. */
async function remittances(config: AppConfig, json: boolean, sub: string | undefined, rest: string[]): Promise<number> {
  const flag = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  switch (sub) {
    case 'import': {
      if (rest.length === 0) {
        process.stderr.write('remittances import needs at least one FILE\n');
        return 2;
      }
      const results = await withApp(config, async (app) => {
        const service = app.get(RemittanceService);
        const r: ({ file: string } & RemitImportSummary)[] = [];
        for (const file of rest) r.push({ file, ...(await service.import(fileSource(file), { actor: 'cli' })) });
        return r;
      });
      out(json, results, results.map((x) => (x.refused
        ? `${x.file}: refused${x.duplicate ? ' again' : ''} (${x.refused.error}); kept as file ${x.fileId}`
        : `${x.file}: ${x.duplicate ? 'imported before, nothing changed' : `${x.transactions} payment(s)${x.duplicateTransactions > 0 ? ` (${x.duplicateTransactions} posted before)` : ''}, ${x.claimPayments} claim payment(s): ${x.matched} matched, ${x.unmatched} unmatched${x.unmatchedLines > 0 ? `, ${x.unmatchedLines} line(s) unmatched` : ''}; paid ${x.paid}${x.unbalanced > 0 ? `; ${x.unbalanced} balance failure(s)` : ''}`}`)).join('\n'));
      return results.some((x) => x.refused) ? 1 : 0;
    }
    case 'list': {
      const list = await withApp(config, (app) => app.get(RemittanceQueries).list({ payerId: flag('--payer'), from: flag('--from'), to: flag('--to'), limit: 500, offset: 0 }));
      out(json, list, list.items.length === 0 ? 'no remittances' : (list.items as { id: string; traceNumber: string; payerName: string; amount: string; paymentDate: string | null; claimPayments: number; unmatched: number; balanced: boolean; duplicateOf: string | null }[])
        .map((t) => `${t.id}: ${t.paymentDate ?? '(no date)'} ${t.payerName} trace ${t.traceNumber}, ${t.amount}, ${t.claimPayments} claim payment(s)${t.unmatched > 0 ? `, ${t.unmatched} unmatched` : ''}${t.balanced ? '' : ', NOT BALANCED'}${t.duplicateOf !== null ? ` (duplicate of ${t.duplicateOf})` : ''}`).join('\n'));
      return 0;
    }
    case 'unmatched': {
      const list = await withApp(config, (app) => app.get(RemittanceQueries).unmatched({ limit: 500, offset: 0 }));
      out(json, list, list.items.length === 0 ? 'nothing to match' : (list.items as { kind: string; id: string; patientControlNumber: string; procedure: string | null; reason: string; note: string | null; paid: string | null }[])
        .map((i) => `${i.kind} payment ${i.id}: ${i.patientControlNumber}${i.procedure !== null ? ` ${i.procedure}` : ''}, paid ${i.paid ?? '?'}: ${i.reason}${i.note !== null ? ` (${i.note})` : ''}`).join('\n'));
      return 0;
    }
    case 'match':
    case 'match-line': {
      const [what, target] = rest.filter((a) => /^\d{1,18}$/.test(a));
      if (what === undefined || target === undefined) {
        process.stderr.write(`remittances ${sub} needs ${sub === 'match' ? 'PAYMENT_ID CLAIM_ID' : 'SERVICE_PAYMENT_ID CLAIM_LINE_ID'} (numbers)\n`);
        return 2;
      }
      try {
        const r = await withApp(config, (app): Promise<{ claimId: string; claimStatus: string }> => (sub === 'match' ? app.get(RemittanceService).matchClaimPayment(what, target, 'cli') : app.get(RemittanceService).matchServicePayment(what, target, 'cli')));
        out(json, r, `matched: claim ${r.claimId} is ${r.claimStatus}`);
        return 0;
      } catch (e) {
        if (!(e instanceof RemittanceMatchError)) throw e;
        process.stderr.write(`${e.message}\n`);
        return 1;
      }
    }
    case undefined:
    default:
      process.stderr.write(USAGE + '\n');
      return 2;
  }
}

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
