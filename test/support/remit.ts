/**
 * Remittance scenarios: claims sent for real (HL7 in, claims built, batched, delivered), then an
 * 835 written for them as a payer would, with the claims' own patient control numbers and line
 * control numbers.
 */
import { DEFAULT_DELIMITERS, write835, type Era835Claim, type Era835File, type Era835Service, type Era835Transaction } from '../../src/lib/x12';
import { addDecimal, compareDecimal } from '../../src/lib/decimal';
import type { ApiResponse } from './api';
import type { TestDatabase } from './db';
import { TEST_TOKEN } from './service';

export type Api = (method: string, path: string, body?: unknown) => Promise<ApiResponse>;

export interface SentLine {
  id: string;
  lineNumber: number;
  controlNumber: string;
  procedureCode: string | null;
  modifiers: string[];
  revenueCode: string | null;
  charge: string;
  quantity: string;
  serviceDate: string;
}

export interface SentClaim {
  id: string;
  patientControlNumber: string;
  totalCharge: string;
  status: string;
  payerId: string | null;
  lines: SentLine[];
}

/** Builds the encounters' claims, batches and delivers them: the claims come back submitted. */
export async function sendClaims(api: Api, db: TestDatabase, encounterIds: string[]): Promise<SentClaim[]> {
  const built = await api('POST', '/api/claims/build', { encounterIds });
  if (built.status !== 200) throw new Error(`build: ${JSON.stringify(built.json)}`);
  const batches = await api('POST', '/api/batches', {});
  if (!Array.isArray(batches.json?.batches)) throw new Error(`batches: ${batches.status} ${JSON.stringify(batches.json)}`);
  for (const b of batches.json.batches as { id: string }[]) {
    const d = await api('POST', `/api/batches/${b.id}/deliver`, {});
    if (d.status !== 200) throw new Error(`deliver: ${JSON.stringify(d.json)}`);
  }
  const ids = await db.query<{ id: string }>(`SELECT id FROM claim WHERE encounter_id = ANY($1::bigint[]) AND status <> 'cancelled' ORDER BY encounter_id, part, id`, [encounterIds]);
  const claims: SentClaim[] = [];
  for (const { id } of ids) {
    const detail = (await api('GET', `/api/claims/${id}`)).json;
    const lines = await db.query<{ id: string }>(`SELECT id FROM claim_line WHERE claim_id = $1 ORDER BY line_number`, [id]);
    claims.push({ ...detail, lines: detail.lines.map((l: SentLine, i: number) => ({ ...l, id: (lines[i] as { id: string }).id })) });
  }
  return claims;
}

/** An ERA file around transactions (fixed clock, given control numbers). */
export function era(transactions: Era835Transaction[], control = 9001): Era835File {
  const at = new Date('2024-02-01T10:00:00Z');
  return {
    delimiters: DEFAULT_DELIMITERS,
    interchange: { senderQualifier: 'ZZ', senderId: 'PAYER', receiverQualifier: 'ZZ', receiverId: 'HL7CLAIMS', controlNumber: control, usage: 'T', ackRequested: false, createdAt: at },
    group: { senderCode: 'PAYER', receiverCode: 'HL7CLAIMS', controlNumber: control, createdAt: at },
    transactions,
  };
}

/** A transaction from the example practice's BCBS payer (N1*PR id 00621) paying `claims`. */
export function payment(trace: string, claims: Era835Claim[], over: Partial<Era835Transaction> = {}): Era835Transaction {
  return {
    controlNumber: 1, payment: { method: 'ACH', date: '2024-02-01' }, trace: { number: trace, payerId: '1370000001' }, productionDate: '2024-01-31',
    payer: { name: 'BLUE CROSS BLUE SHIELD OF ILLINOIS', id: '00621', address: { line1: '300 E RANDOLPH ST', city: 'CHICAGO', state: 'IL', zip: '606015014' }, technicalContact: { name: 'EDI SUPPORT', phone: '8005550100' } }, payee: { name: 'ST MARY CARDIOLOGY GROUP', npi: '1234567893' }, claims, ...over,
  };
}

/** A claim payment for a sent claim: each line paid as `pay` says (default: paid in full). */
export function claimPayment(c: SentClaim, pay: (l: SentLine) => Partial<Era835Service> = () => ({}), over: Partial<Era835Claim> = {}): Era835Claim {
  const services: Era835Service[] = c.lines.map((l) => ({
    code: l.procedureCode ?? (l.revenueCode as string), qualifier: l.procedureCode === null ? 'NU' : 'HC', modifiers: l.modifiers, charge: l.charge, paid: l.charge,
    lineControlNumber: l.controlNumber, serviceDate: l.serviceDate, ...pay(l),
  }));
  const paid = services.reduce((t, s) => addDecimal(t, s.paid), '0');
  const pr = services.flatMap((s) => s.adjustments ?? []).filter((a) => a.group === 'PR').reduce((t, a) => addDecimal(t, a.amount), '0');
  return {
    patientControlNumber: c.patientControlNumber, status: '1', charge: c.totalCharge, paid, patientResponsibility: compareDecimal(pr, '0') > 0 ? pr : undefined,
    payerClaimControlNumber: `ICN${c.id}`, patient: { last: 'ZOLLNER', first: 'JANE', memberId: 'MEM123456' }, filingIndicator: '12', services, ...over,
  };
}

/** Posts an 835 to the API as its raw body. */
export async function postEra(port: number, text: string | Buffer, fileName?: string): Promise<ApiResponse> {
  const res = await fetch(`http://127.0.0.1:${port}/api/remittances${fileName !== undefined ? `?fileName=${encodeURIComponent(fileName)}` : ''}`, {
    method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/edi-x12' }, body: typeof text === 'string' ? Buffer.from(text, 'latin1') : text,
  });
  const body = await res.text();
  return { status: res.status, json: body === '' ? null : JSON.parse(body) };
}

export { write835 };
