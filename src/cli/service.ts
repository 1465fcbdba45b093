import { resolve } from 'node:path';
import { migrate, openDatabase } from '../database/database';
import { runDemo } from '../demo';
import { startService } from '../service';
import { EXIT, withApp, type Command } from './context';

/** `hl7-claims serve`: the MLLP listener and the HTTP API until SIGINT or SIGTERM. */
export const serve: Command = async (ctx) => {
  const svc = await startService(ctx.config);
  process.stdout.write(`hl7-claims: MLLP on ${ctx.config.MLLP_HOST}:${svc.mllpPort}, HTTP on http://${ctx.config.HTTP_HOST}:${svc.httpPort} (API docs at /docs)\n`);
  if (ctx.config.API_TOKEN === undefined) process.stdout.write(`API token: in ${resolve(ctx.config.DATA_DIR, 'api-token')}\n`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      void svc.stop().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return EXIT.done;
};

/** `hl7-claims db migrate`. */
export const db: Command = async (ctx, sub) => {
  if (sub !== 'migrate') return ctx.usage('db needs migrate');
  const opened = await openDatabase(ctx.config, { migrate: false });
  try {
    const done = await migrate(opened.dataSource);
    ctx.out({ migrated: done }, done.length ? `applied: ${done.join(', ')}` : 'schema is up to date');
  } finally {
    await opened.close();
  }
  return EXIT.done;
};

/** `hl7-claims demo [--out DIR] [--keep]`. */
export const demo: Command = async (ctx, sub, rest) => {
  const args = [sub, ...rest].filter((a): a is string => a !== undefined);
  const outAt = args.indexOf('--out');
  const dir = resolve(outAt >= 0 ? (args[outAt + 1] ?? 'out') : 'out');
  const result = await runDemo(dir, withApp, { keep: args.includes('--keep') });
  ctx.out(result.summary, result.text);
  return EXIT.done;
};
