import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { IMPORT_KINDS, labelFromFileName, type ImportKind } from '../lib/codes/kinds';
import { CodeSetFileError } from '../lib/codes/tables';
import { CodeSetsService } from '../modules/scrubber/codesets.service';
import { EXIT, flagValue, type Command } from './context';

/** `hl7-claims codesets list | import KIND FILE [--label L]`. */
export const codesets: Command = async (ctx, sub, rest) => {
  if (sub === 'list') {
    const list = await ctx.withApp((app) => app.get(CodeSetsService).list());
    ctx.out(list, list.loaded.map((l) => `${l.kind} ${l.label}: ${l.rows} rows (${l.source})`).join('\n'));
    return EXIT.done;
  }
  if (sub !== 'import') return ctx.usage('codesets needs list, or import KIND FILE [--label L]');
  const labelAt = rest.indexOf('--label');
  const label = flagValue(rest, '--label');
  const [kind, file] = rest.filter((_, i) => labelAt < 0 || (i !== labelAt && i !== labelAt + 1));
  if (kind === undefined || file === undefined) return ctx.usage('codesets import needs KIND and FILE');
  try {
    const r = await ctx.withApp((app) =>
      app.get(CodeSetsService).import(kind, { name: basename(file), content: readFileSync(file) }, label ?? (IMPORT_KINDS.includes(kind as ImportKind) ? labelFromFileName(kind as ImportKind, basename(file)) : undefined), 'cli'),
    );
    ctx.out(r, `${r.kind} ${r.label} from ${r.fileName}: ${r.rows} rows${r.created ? ' imported' : ' (this file was imported before: nothing changed)'}`);
    return EXIT.done;
  } catch (e) {
    if (!(e instanceof CodeSetFileError)) throw e;
    process.stderr.write(`${file}: refused: ${e.message}\n`);
    return EXIT.failed;
  }
};
