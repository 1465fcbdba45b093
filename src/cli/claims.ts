import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { X12ReadError } from '../lib/x12';
import { ClaimsService } from '../modules/claims/claims.service';
import { ScrubberRepository } from '../modules/scrubber/scrubber.repository';
import { ScrubberService } from '../modules/scrubber/scrubber.service';
import { AckMismatchError, AcknowledgementsService, type AckImportSummary } from '../modules/submission/acknowledgements.service';
import { BatchesService } from '../modules/submission/batches.service';
import { writeFileWhole } from '../modules/submission/delivery';
import { SubmissionService } from '../modules/submission/submission.service';
import { EXIT, flagValue, type Command } from './context';

const isId = (id: string): boolean => /^\d{1,18}$/.test(id);

/** `hl7-claims claims build [ENCOUNTER_ID...]`. */
export const claims: Command = async (ctx, sub, rest) => {
  if (sub !== 'build') return ctx.usage('claims needs build [ENCOUNTER_ID...]');
  if (rest.some((id) => !isId(id))) return ctx.usage('claims build takes encounter ids (numbers)');
  const summary = await ctx.withApp((app) => app.get(ClaimsService).build({ encounterIds: rest.length > 0 ? rest : undefined, actor: 'cli' }));
  ctx.out(summary, `${summary.encounters} encounters: ${summary.created} claims created, ${summary.updated} updated; ${summary.ready} ready, ${summary.held} held; ${summary.skipped} skipped`);
  return EXIT.done;
};

/** `hl7-claims batches create [--out DIR]`. */
export const batches: Command = async (ctx, sub, rest) => {
  if (sub !== 'create') return ctx.usage('batches needs create [--out DIR]');
  const dir = flagValue(rest, '--out');
  if (rest.includes('--out') && dir === undefined) return ctx.usage('--out needs a folder');
  const made = await ctx.withApp(async (app) => {
    const service = app.get(BatchesService);
    const created = await service.create({ actor: 'cli' });
    if (dir !== undefined) for (const b of created) await writeFileWhole(dir, b.fileName, service.file(b.id));
    return created;
  });
  ctx.out({ batches: made }, made.length === 0 ? 'no ready claims' : made.map((b) => `batch ${b.id}: ${b.claims} ${b.claimType} claims for ${b.clearinghouse}, ${b.totalCharge} billed, ISA13 ${b.interchangeControlNumber}, ${b.fileName}${dir !== undefined ? ` in ${dir}` : ''}`).join('\n'));
  return EXIT.done;
};

/** `hl7-claims submit`: the submission job once. */
export const submit: Command = async (ctx) => {
  const run = await ctx.withApp((app) => app.get(SubmissionService).runOnce('cli'));
  const text = !run.ran
    ? 'another instance is running the submission job'
    : [
        `claims: ${run.built?.created ?? 0} created, ${run.built?.updated ?? 0} updated (${run.built?.ready ?? 0} ready, ${run.built?.held ?? 0} held)`,
        `batches: ${run.batches.length} created, ${run.deliveries.filter((d) => d.delivered).length} delivered`,
        `responses: ${run.responses.filter((r) => r.result).length} imported, ${run.responses.filter((r) => r.refused !== undefined).length} refused`,
      ].join('\n');
  ctx.out(run, text);
  return run.ran ? EXIT.done : EXIT.failed;
};

/** `hl7-claims acks import FILE...`: 999 and 277CA files. */
export const acks: Command = async (ctx, sub, rest) => {
  if (sub !== 'import') return ctx.usage('acks needs import FILE...');
  if (rest.length === 0) return ctx.usage('acks import needs at least one FILE');
  const results = await ctx.withApp(async (app) => {
    const service = app.get(AcknowledgementsService);
    const r: ({ file: string } & (AckImportSummary | { error: string }))[] = [];
    for (const file of rest) {
      try {
        r.push({ file, ...(await service.import(readFileSync(file), { fileName: basename(file), actor: 'cli' })) });
      } catch (e) {
        if (!(e instanceof X12ReadError || e instanceof AckMismatchError)) throw e;
        r.push({ file, error: e.message });
      }
    }
    return r;
  });
  ctx.out(results, results.map((x) => ('error' in x ? `${x.file}: refused (${x.error})` : `${x.file}: ${x.kind}${x.duplicate ? ' already imported, nothing changed' : `: ${x.accepted} accepted, ${x.rejected} rejected, ${x.unchanged} unchanged${x.unmatched.length ? `, ${x.unmatched.length} unknown claims` : ''}`}`)).join('\n'));
  return results.some((x) => 'error' in x) ? EXIT.failed : EXIT.done;
};

/** `hl7-claims scrub [--claims ID,ID] [--encounters ID,ID]`: a dry run, nothing changed. */
export const scrub: Command = async (ctx, sub, rest) => {
  const args = [sub, ...rest].filter((a): a is string => a !== undefined);
  const ids = (flag: string): string[] | undefined => (args.includes(flag) ? (flagValue(args, flag) ?? '').split(',').filter((x) => x !== '') : undefined);
  const claimIds = ids('--claims');
  const encounterIds = ids('--encounters');
  if ([...(claimIds ?? []), ...(encounterIds ?? [])].some((id) => !isId(id)) || claimIds?.length === 0 || encounterIds?.length === 0) {
    return ctx.usage('scrub takes --claims ID,ID and/or --encounters ID,ID (numbers)');
  }
  const result = await ctx.withApp(async (app) => {
    const scrubber = app.get(ScrubberService);
    const all = claimIds === undefined && encounterIds === undefined;
    const found = await scrubber.dryRun(claimIds ?? (all ? await app.get(ScrubberRepository).unbatched(null, 100_000) : []));
    const encounters = encounterIds ? await app.get(ClaimsService).dryRunEncounters(encounterIds) : [];
    return { claims: found, encounters };
  });
  const describe = (f: { ruleId: string; severity: string; line?: number; loop: string; message: string }): string => `     ${f.severity} ${f.ruleId}${f.line !== undefined ? ` line ${f.line}` : ''} (${f.loop}): ${f.message}`;
  const text = [
    ...result.claims.flatMap((c) => [`claim ${c.claimId}: ${c.status}, would be ${c.wouldBe}`, ...c.findings.map(describe)]),
    ...result.encounters.flatMap((e) => [`encounter ${e.encounterId}:${e.skipped !== undefined ? ` ${e.skipped}` : ''}`, ...e.claims.flatMap((c) => [`  ${c.claimType} claim part ${c.part}: would be ${c.wouldBe}`, ...c.findings.map(describe)])]),
  ];
  ctx.out(result, text.length > 0 ? text.join('\n') : 'no claims to scrub');
  return EXIT.done;
};
