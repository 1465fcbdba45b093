import { RemittanceQueries } from '../modules/remittance/remittance.queries';
import { RemittanceMatchError, RemittanceService, type RemitImportSummary } from '../modules/remittance/remittance.service';
import { fileSource } from '../modules/remittance/source';
import { EXIT, flagValue, type Command } from './context';

/** `hl7-claims remittances ...`: import, list, the unmatched queue, matching by hand. */
export const remittances: Command = async (ctx, sub, rest) => {
  const flag = (name: string): string | undefined => flagValue(rest, name);
  switch (sub) {
    case 'import': {
      if (rest.length === 0) {
        return ctx.usage('remittances import needs at least one FILE');
      }
      const results = await ctx.withApp(async (app) => {
        const service = app.get(RemittanceService);
        const r: ({ file: string } & RemitImportSummary)[] = [];
        for (const file of rest) r.push({ file, ...(await service.import(fileSource(file), { actor: 'cli' })) });
        return r;
      });
      ctx.out(results, results.map((x) => (x.refused
        ? `${x.file}: refused${x.duplicate ? ' again' : ''} (${x.refused.error}); kept as file ${x.fileId}`
        : `${x.file}: ${x.duplicate ? 'imported before, nothing changed' : `${x.transactions} payment(s)${x.duplicateTransactions > 0 ? ` (${x.duplicateTransactions} posted before)` : ''}, ${x.claimPayments} claim payment(s): ${x.matched} matched, ${x.unmatched} unmatched${x.unmatchedLines > 0 ? `, ${x.unmatchedLines} line(s) unmatched` : ''}; paid ${x.paid}${x.unbalanced > 0 ? `; ${x.unbalanced} balance failure(s)` : ''}`}`)).join('\n'));
      return results.some((x) => x.refused) ? EXIT.failed : EXIT.done;
    }
    case 'list': {
      const list = await ctx.withApp((app) => app.get(RemittanceQueries).list({ payerId: flag('--payer'), from: flag('--from'), to: flag('--to'), limit: 500, offset: 0 }));
      ctx.out(list, list.items.length === 0 ? 'no remittances' : (list.items as { id: string; traceNumber: string; payerName: string; amount: string; paymentDate: string | null; claimPayments: number; unmatched: number; balanced: boolean; duplicateOf: string | null }[])
        .map((t) => `${t.id}: ${t.paymentDate ?? '(no date)'} ${t.payerName} trace ${t.traceNumber}, ${t.amount}, ${t.claimPayments} claim payment(s)${t.unmatched > 0 ? `, ${t.unmatched} unmatched` : ''}${t.balanced ? '' : ', NOT BALANCED'}${t.duplicateOf !== null ? ` (duplicate of ${t.duplicateOf})` : ''}`).join('\n'));
      return EXIT.done;
    }
    case 'unmatched': {
      const list = await ctx.withApp((app) => app.get(RemittanceQueries).unmatched({ limit: 500, offset: 0 }));
      ctx.out(list, list.items.length === 0 ? 'nothing to match' : (list.items as { kind: string; id: string; patientControlNumber: string; procedure: string | null; reason: string; note: string | null; paid: string | null }[])
        .map((i) => `${i.kind} payment ${i.id}: ${i.patientControlNumber}${i.procedure !== null ? ` ${i.procedure}` : ''}, paid ${i.paid ?? '?'}: ${i.reason}${i.note !== null ? ` (${i.note})` : ''}`).join('\n'));
      return EXIT.done;
    }
    case 'match':
    case 'match-line': {
      const [what, target] = rest.filter((a) => /^\d{1,18}$/.test(a));
      if (what === undefined || target === undefined) {
        return ctx.usage(`remittances ${sub} needs ${sub === 'match' ? 'PAYMENT_ID CLAIM_ID' : 'SERVICE_PAYMENT_ID CLAIM_LINE_ID'} (numbers)`);
      }
      try {
        const r = await ctx.withApp((app): Promise<{ claimId: string; claimStatus: string }> => (sub === 'match' ? app.get(RemittanceService).matchClaimPayment(what, target, 'cli') : app.get(RemittanceService).matchServicePayment(what, target, 'cli')));
        ctx.out(r, `matched: claim ${r.claimId} is ${r.claimStatus}`);
        return EXIT.done;
      } catch (e) {
        if (!(e instanceof RemittanceMatchError)) throw e;
        process.stderr.write(`${e.message}\n`);
        return EXIT.failed;
      }
    }
    case undefined:
    default:
      return ctx.usage('remittances needs import FILE..., list [--payer ID] [--from D] [--to D], unmatched, match PAYMENT_ID CLAIM_ID or match-line SERVICE_PAYMENT_ID CLAIM_LINE_ID');
  }
};
