/**
 * `hl7-claims demo`: the whole money path on a throw-away embedded database. The demo feed comes
 * in; claims are built, scrubbed and batched; the 837 files are delivered to a clearinghouse
 * folder (the demo's output folder); the payers answer with an 835 (written here as each payer
 * would, dropped in the clearinghouse's response folder and picked up by the submission job);
 * payments are posted, each claim's balance shown, and the secondary claim the Medicare payment
 * leaves is built and delivered too.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { parse, stringify } from 'yaml';
import { rootLogger } from './common/logger';
import { loadConfig } from './config/config';
import { addDecimal, compareDecimal, subtractDecimal } from './lib/decimal';
import { DEFAULT_DELIMITERS, write835, type Era835Claim, type Era835Service, type Era835Transaction } from './lib/x12';
import { ClaimsRepository, type ClaimDetail } from './modules/claims/claims.repository';
import { ClaimsService } from './modules/claims/claims.service';
import { IntakeService } from './modules/intake/intake.service';
import { EXAMPLE_PRACTICE_FILE } from './modules/practice/practice.service';
import { RemittanceQueries } from './modules/remittance/remittance.queries';
import { ScrubberService } from './modules/scrubber/scrubber.service';
import { BatchesService } from './modules/submission/batches.service';
import { SubmissionService } from './modules/submission/submission.service';

/** A claim as the demo's payers see it. */
export type DemoClaim = Pick<ClaimDetail, 'patientControlNumber' | 'claimType' | 'payerId' | 'payerName' | 'totalCharge' | 'lines'>;

/** The demo payers' rules: what each allows and what the patient owes, per procedure. */
function adjudicateLine(payerId: string, l: ClaimDetail['lines'][number]): Partial<Era835Service> {
  const charge = l.charge;
  if (l.procedureCode === '99214') {
    // Allowed 150.00: the rest is contractual (CO-45); coinsurance 30.00 (PR-2).
    return { paid: '120.00', allowed: '150.00', adjustments: [{ group: 'CO', reason: '45', amount: subtractDecimal(charge, '150.00') }, { group: 'PR', reason: '2', amount: '30.00' }] };
  }
  if (l.procedureCode === '80061') {
    // A lipid panel the payer bundles into the visit: denied (CO-97), remark N19.
    return { paid: '0', adjustments: [{ group: 'CO', reason: '97', amount: charge }], remarks: ['N19'] };
  }
  if (payerId === '00952' && l.procedureCode === '99213') {
    // Medicare Part B: allowed 92.17, 80% paid, 20% coinsurance.
    return { paid: '73.74', allowed: '92.17', adjustments: [{ group: 'CO', reason: '45', amount: subtractDecimal(charge, '92.17') }, { group: 'PR', reason: '2', amount: '18.43' }] };
  }
  if (payerId === '00952' && l.procedureCode === 'J1885') {
    return { paid: '17.92', allowed: '22.40', adjustments: [{ group: 'PR', reason: '2', amount: '4.48' }] };
  }
  return {};
}

/**
 * The demo's 835: one transaction per payer, every claim it was sent: paid claims, a denied line,
 * contractual adjustments, patient responsibility, an institutional claim paid on revenue-code
 * lines with a claim-level adjustment and MIA, interest (AMT*I with PLB L6) and a recoupment (PLB
 * WO of an earlier overpayment).
 */
export function demoRemittance(claims: DemoClaim[], at = new Date('2024-01-31T09:00:00Z')): string {
  const date = at.toISOString().slice(0, 10);
  const payers = [...new Set(claims.map((c) => c.payerId).filter((p): p is string => p !== null))];
  const transactions: Era835Transaction[] = payers.map((payerId, t) => {
    const own = claims.filter((c) => c.payerId === payerId);
    const name = own[0]?.payerName ?? payerId;
    const eraClaims: Era835Claim[] = own.map((c, i) => {
      const institutional = c.claimType === 'institutional';
      const services: Era835Service[] = c.lines.map((l) => ({
        qualifier: institutional ? 'NU' : 'HC', code: institutional ? (l.revenueCode ?? '') : (l.procedureCode ?? ''), modifiers: institutional ? [] : l.modifiers,
        charge: l.charge, paid: l.charge, units: l.quantity, lineControlNumber: l.controlNumber, serviceDate: l.serviceDate, ...(institutional ? {} : adjudicateLine(payerId, l)),
      }));
      const lineAdjusted = services.flatMap((s) => s.adjustments ?? []);
      let paid = services.reduce((sum, s) => addDecimal(sum, s.paid), '0');
      // The hospital stay: paid 250.00 by case rate, the rest contractual at the claim level.
      const claimLevel = institutional ? [{ group: 'CO', reason: '45', amount: subtractDecimal(paid, '250.00') }] : [];
      if (institutional) paid = '250.00';
      const pr = lineAdjusted.filter((a) => a.group === 'PR').reduce((sum, a) => addDecimal(sum, a.amount), '0');
      return {
        patientControlNumber: c.patientControlNumber, status: '1', charge: c.totalCharge, paid, patientResponsibility: compareDecimal(pr, '0') > 0 ? pr : undefined,
        payerClaimControlNumber: `${payerId}24031${String(t + 1).padStart(2, '0')}${String(i + 1).padStart(4, '0')}`, filingIndicator: payerId === '00952' ? 'MB' : '12', facilityCode: '11',
        patient: { last: 'PATIENT', memberId: undefined }, adjustments: claimLevel, services,
        ...(institutional ? { inpatient: { coveredDays: '3', remark: 'MA01' } } : {}), ...(payerId === '00952' ? { outpatientRemarks: ['MA18'] } : {}),
        ...(i === 0 && payerId === '00621' ? { interest: '1.15' } : {}),
      };
    });
    return {
      controlNumber: t + 1, payment: { method: 'ACH', date }, trace: { number: `DEMO-EFT-${t + 1}`, payerId: `1${payerId.padStart(9, '0')}` }, productionDate: date,
      payer: { name, id: payerId, address: { line1: 'PO BOX 1000', city: 'SPRINGFIELD', state: 'IL', zip: '627010000' }, technicalContact: { name: 'EDI SUPPORT', phone: '8005550100' } }, payee: { name: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893' }, claims: eraClaims,
      providerAdjustments: payerId === '00621'
        ? [{ providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'WO', reference: '0062123120000917', amount: '25.00' }, { providerId: '1234567893', fiscalPeriodDate: '2024-12-31', reason: 'L6', amount: '-1.15' }]
        : [],
    };
  });
  return write835({
    delimiters: DEFAULT_DELIMITERS,
    interchange: { senderQualifier: 'ZZ', senderId: 'CLEARHOUSE', receiverQualifier: 'ZZ', receiverId: 'HL7CLAIMS', controlNumber: 31, usage: 'T', ackRequested: false, createdAt: at },
    group: { senderCode: 'CLEARHOUSE', receiverCode: 'HL7CLAIMS', controlNumber: 31, createdAt: at },
    transactions,
  });
}

/** The demo: everything from HL7 in to money posted, explained. */
export async function runDemo(dir: string, withApp: <T>(config: ReturnType<typeof loadConfig>, fn: (app: INestApplicationContext) => Promise<T>) => Promise<T>, opts: { keep?: boolean } = {}): Promise<{ summary: unknown; text: string }> {
  const root = join(__dirname, '..');
  const feed = join(root, 'fixtures', 'demo', 'feed.hl7');
  // The demo explains what it did; its progress logs would only get in the way.
  rootLogger().level = 'warn';
  // --keep: the database `npm start` uses (DATABASE_URL, or the embedded one under DATA_DIR), so
  // that the web app opens on the demo's work queue; otherwise a throw-away embedded database.
  const keep = opts.keep === true;
  const base = loadConfig();
  const dataDir = keep ? resolve(base.DATA_DIR) : mkdtempSync(join(tmpdir(), 'hl7-claims-demo-'));
  mkdirSync(dataDir, { recursive: true });
  // The example practice, its clearinghouse delivering to the demo's folder (responses in responses/).
  const setup = parse(readFileSync(EXAMPLE_PRACTICE_FILE, 'utf8')) as { clearinghouses: { delivery: unknown }[] };
  for (const ch of setup.clearinghouses) ch.delivery = { type: 'directory', outbox: dir, responses: join(dir, 'responses') };
  const practice = join(dataDir, keep ? 'demo-practice.yaml' : 'practice.yaml');
  writeFileSync(practice, stringify(setup));
  // The feed's services are in January 2024: the demo scrubs as of then, or every claim would be past timely filing.
  const config = loadConfig({ ...(keep && base.DATABASE_URL !== undefined ? { DATABASE_URL: base.DATABASE_URL } : {}), DATA_DIR: dataDir, PRACTICE_FILE: practice, LOG_LEVEL: 'warn', MLLP_PORT: '0', HTTP_PORT: '0', SCRUB_AS_OF: '2024-01-10' });
  return withApp(config, async (app) => {
    const claimsRepo = app.get(ClaimsRepository);
    const submission = app.get(SubmissionService);
    const batchesService = app.get(BatchesService);
    const money = app.get(RemittanceQueries);
    const ingest = await app.get(IntakeService).ingestBytes(readFileSync(feed), { source: 'file', charset: 'utf-8' });
    const built = await app.get(ClaimsService).build({ actor: 'demo' });
    const list = (await claimsRepo.list({ limit: 100, offset: 0 })).items.reverse();
    const details = (await Promise.all(list.map((c) => claimsRepo.get(c.id)))).filter((c): c is ClaimDetail => c !== undefined);
    const scrubbed = new Map(await Promise.all(list.map(async (c) => [c.id, (await app.get(ScrubberService).findingsOf(c.id)).findings] as const)));
    const batches = await batchesService.create({ actor: 'demo' });
    for (const b of batches) await submission.deliver(b.id, { replay: false, actor: 'demo' });

    // The payers answer: the 835 arrives in the clearinghouse's response folder, the job picks it up.
    const sent = (await Promise.all(details.map((c) => claimsRepo.get(c.id)))).filter((c): c is ClaimDetail => c !== undefined && c.status === 'submitted');
    mkdirSync(join(dir, 'responses'), { recursive: true });
    writeFileSync(join(dir, 'responses', 'payers-835-demo.x12'), demoRemittance(sent), 'latin1');
    const responses = await submission.fetchResponses('demo');
    const remittance = responses.find((r) => r.remittance)?.remittance;
    const after = await Promise.all(sent.map(async (c) => ({ claim: await claimsRepo.get(c.id), money: await money.claimMoney(c.id), denials: await money.denials({ claimId: c.id, limit: 10, offset: 0 }) })));

    // The Medicare payment left coinsurance: the secondary claim to the patient's other payer.
    const secondaryIds = (await claimsRepo.list({ limit: 100, offset: 0 })).items.filter((c) => !list.some((x) => x.id === c.id)).map((c) => c.id);
    const secondaries = (await Promise.all(secondaryIds.map((id) => claimsRepo.get(id)))).filter((c): c is ClaimDetail => c !== undefined);
    const secondaryBatches = await batchesService.create({ actor: 'demo' });
    for (const b of secondaryBatches) await submission.deliver(b.id, { replay: false, actor: 'demo' });

    const work = await app.get(DataSource).query<{ kind: string; category: string; amount: string; pcn: string | null; deadline: string }[]>(
      `SELECT w.kind, w.category, w.amount::text, c.patient_control_number AS pcn, to_char(w.deadline, 'YYYY-MM-DD') AS deadline
         FROM work_item w LEFT JOIN claim c ON c.id = w.claim_id WHERE w.closed_at IS NULL ORDER BY w.deadline, w.id`,
    );
    const rel = (path: string): string => (path.startsWith(root + '/') ? path.slice(root.length + 1) : path);
    const lines = [
      `hl7-claims demo (${keep ? (config.DATABASE_URL !== undefined ? 'kept in the DATABASE_URL database' : `kept in the embedded database under ${dataDir}`) : 'a throw-away embedded database'}; practice setup ${rel(EXAMPLE_PRACTICE_FILE)}, delivering to ${dir}; claims scrubbed as of ${config.SCRUB_AS_OF ?? ''})`,
      '',
      `1. Came in: ${rel(feed)}: ${ingest.summary.messages} DFT^P03 messages, ${ingest.summary.processed} processed, ${ingest.summary.errors} in error.`,
      `2. Claims built from ${built.encounters} encounters: ${built.ready} ready, ${built.held} held.`,
      ...details.flatMap((c) => [
        `   - ${c.patientControlNumber}: ${c.claimType} claim to ${c.payerName ?? 'no known payer'}, ${c.lines.length} line(s), ${c.totalCharge} billed, ${c.status}` +
          (c.problems.length > 0 ? '' : ` (${c.lines.map((l) => l.procedureCode ?? l.revenueCode).join(', ')})`),
        ...c.problems.map((p) => `       held because ${p.field} (${p.loop}) ${p.message}`),
        ...(scrubbed.get(c.id) ?? []).map((f) => `       scrubber ${f.severity}: ${f.ruleId}${f.line !== undefined ? ` line ${f.line}` : ''} (${f.loop}): ${f.message}`),
      ]),
      `3. 837 files delivered to ${dir}:`,
      ...batches.map((b) => `   - ${b.fileName}: ${b.claims} ${b.claimType} claim(s), ${b.totalCharge} billed, ISA13 ${b.interchangeControlNumber}, ${b.bytes} bytes`),
      `4. The payers' 835 (responses/payers-835-demo.x12, now in responses/processed): ${remittance ? `${remittance.transactions} payments, ${remittance.claimPayments} claim payments, ${remittance.matched} matched, ${remittance.unmatched} unmatched, ${remittance.paid} paid, ${remittance.providerAdjustments} in provider-level adjustments (PLB), ${remittance.unbalanced === 0 ? 'every balance holds' : `${remittance.unbalanced} balance failure(s)`}` : 'not imported'}`,
      ...after.flatMap(({ claim, money: m, denials }) => (claim ? [
        `   - ${claim.patientControlNumber} (${claim.payerName ?? ''}): ${claim.status}; billed ${m.balance.billed}, paid ${m.balance.paid}, contractual ${m.balance.contractual}, patient owes ${m.balance.patientResponsibility}, other ${m.balance.otherAdjusted}, outstanding ${m.balance.outstanding}${m.balance.interest !== '0.00' ? `, interest ${m.balance.interest}` : ''}`,
        ...(denials.items as { lineNumber: number | null; kind: string; amount: string; carcs: { group: string; reason: string; reasonText: string }[]; rarcs: { code: string }[] }[]).map((d) =>
          `       ${d.kind} ${d.lineNumber !== null ? `line ${d.lineNumber}` : 'claim'}: ${d.amount} (${d.carcs.map((a) => `${a.group}-${a.reason} ${a.reasonText}`).join('; ')}${d.rarcs.length > 0 ? `; ${d.rarcs.map((r) => r.code).join(', ')}` : ''})`),
      ] : [])),
      `5. Secondary claims from the balances the payments left: ${secondaries.length}`,
      ...secondaries.map((c) => `   - ${c.patientControlNumber}: ${c.claimType} claim to ${c.payerName ?? ''} after the primary's payment, ${c.totalCharge} billed, ${c.status}`),
      ...secondaryBatches.map((b) => `   - ${b.fileName}: ${b.claims} ${b.claimType} claim(s) delivered, ISA13 ${b.interchangeControlNumber}, ${b.bytes} bytes`),
      `6. The work queue: ${work.length} open item(s), made as the claims were held and the 835 was posted:`,
      ...work.map((w) => `   - ${w.pcn ?? 'payment'}: ${w.kind.replace('_', ' ')}, ${w.category.replace(/_/g, ' ')}, ${w.amount} at stake, deadline ${w.deadline}`),
      '',
      keep
        ? 'Next: add yourself (`hl7-claims users add you@example.org --role admin`), run `npm start` and open http://127.0.0.1:3000/ for the work queue.'
        : 'Next: look at the files, fix the held claim (add the payer to the practice setup), or run `npm start` and open http://127.0.0.1:3000/docs. `hl7-claims demo --keep` keeps the data for the web app.',
    ];
    return {
      summary: { kept: keep, workItems: work, ingest: ingest.summary, claims: built, batches, out: dir, remittance, balances: after.map((a) => ({ claimId: a.claim?.id, status: a.claim?.status, balance: a.money.balance })), secondaries: secondaries.map((c) => c.id), secondaryBatches },
      text: lines.join('\n'),
    };
  });
}
