import { readFileSync } from 'node:fs';
import { IntakeService, ReprocessError, summarize } from '../modules/intake/intake.service';
import type { StoredMessage } from '../modules/intake/intake.types';
import { sendFiles } from '../mllp-send';
import { EXIT, type Command } from './context';

/** `hl7-claims ingest FILE...`: files of messages (single, multi-message, FHS/BHS batches) stored and processed like MLLP input. */
export const ingest: Command = async (ctx, sub, rest) => {
  const files = [sub, ...rest].filter((f): f is string => f !== undefined);
  if (files.length === 0) return ctx.usage('ingest needs at least one FILE');
  const stored = await ctx.withApp(async (app) => {
    const intake = app.get(IntakeService);
    const all: StoredMessage[] = [];
    for (const f of files) {
      const r = await intake.ingestBytes(readFileSync(f), { source: 'file', connectionId: `file:${f}`, charset: ctx.config.MLLP_CHARSET });
      all.push(...r.stored);
    }
    return all;
  });
  const summary = summarize(stored);
  ctx.out(summary, `${summary.messages} messages: ${summary.processed} processed, ${summary.duplicates} duplicates, ${summary.errors} errors, ${summary.rejected} rejected, ${summary.ignored} ignored`);
  return summary.errors + summary.rejected > 0 ? EXIT.failed : EXIT.done;
};

/** `hl7-claims messages reprocess ID...|--status error`: re-runs messages in error after a fix. */
export const messages: Command = async (ctx, sub, rest) => {
  if (sub !== 'reprocess') return ctx.usage('messages needs reprocess ID... or reprocess --status error');
  const all = rest[0] === '--status';
  if (all && rest[1] !== 'error') return ctx.usage('only --status error can be reprocessed');
  if (!all && rest.length === 0) return ctx.usage('messages reprocess needs message ids, or --status error');
  const results = await ctx.withApp(async (app) => {
    const intake = app.get(IntakeService);
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
  ctx.out({ reprocessed: results.length, processed: fixed, stillFailing: results.length - fixed, results }, results.map((r) => `${r.id}: ${r.status}${r.error !== undefined ? ` (${r.error})` : ''}`).join('\n') || 'nothing to reprocess');
  return results.length - fixed > 0 ? EXIT.failed : EXIT.done;
};

/** `hl7-claims send FILE... [--host H] [--port P]`: messages to an MLLP listener, each ACK printed. */
export const send: Command = async (ctx, sub, rest) => {
  const opts = { host: ctx.config.MLLP_HOST, port: ctx.config.MLLP_PORT };
  const files: string[] = [];
  const list = [sub, ...rest].filter((a): a is string => a !== undefined);
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as string;
    if (a === '--host') opts.host = list[++i] ?? opts.host;
    else if (a === '--port') opts.port = Number(list[++i] ?? opts.port);
    else files.push(a);
  }
  if (files.length === 0) return ctx.usage('send needs at least one FILE');
  const acks = await sendFiles(files, opts.host, opts.port);
  ctx.out(acks.map((a) => ({ file: a.file, ack: a.code, controlId: a.controlId, error: a.error })), acks.map((a) => `${a.file}: ${a.code} ${a.controlId}${a.error ? ` (${a.error})` : ''}`).join('\n'));
  return acks.every((a) => a.code === 'AA' || a.code === 'CA') ? EXIT.done : EXIT.failed;
};
