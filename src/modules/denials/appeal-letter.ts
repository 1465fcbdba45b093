import type { PdfBlock } from '../../lib/pdf';
import type { Category } from './work-filter';

/** What an appeal letter is made from (all read from what is stored about the claim). */
export interface AppealFacts {
  today: string;
  provider: { name: string; npi: string; address: string[] };
  payer: { name: string; payerId: string; address: string[] };
  patient: { name: string; birthDate: string | null; memberId: string | null };
  claim: { patientControlNumber: string; payerClaimNumber: string | null; serviceDate: string | null; billed: string; line: string | null };
  denial: { amount: string; category: Category; carcs: { group: string; reason: string; text: string }[]; rarcs: { code: string; text: string }[]; deniedOn: string | null };
  filing: { sentOn: string | null; batchFile: string | null; interchangeControlNumber: string | null; ack999: string | null; ack277: string | null };
  signer: string;
}

/** The argument of each category's letter as shipped (admins may replace it); the request and the proof follow. */
export const DEFAULT_ARGUMENTS: Readonly<Record<Category, string>> = {
  registration_eligibility: 'The patient was covered on the date of service. The enclosed registration and eligibility information show active coverage with your plan; we ask that the claim be processed under it.',
  coding: 'The services were coded as documented. Where a code or modifier needed correction, the corrected claim accompanies this request; otherwise the enclosed documentation supports the codes billed.',
  authorization: 'The service was authorized or did not require authorization under the patient\'s plan. The enclosed authorization details and records support payment.',
  medical_necessity: 'The service was medically necessary for this patient. The enclosed clinical documentation describes the condition, the treatment and why it was required.',
  timely_filing: 'The claim was filed within your time limit. Our records of the original submission, and your clearinghouse\'s acceptance of it, are listed below.',
  duplicate: 'This claim is not a duplicate: it is for a distinct service, date or patient account, as the details below show.',
  coordination_of_benefits: 'The coordination of benefits has been reviewed. The enclosed information identifies the patient\'s primary coverage and any payment already made.',
  bundling: 'The service is separately identifiable and was billed with the appropriate modifier; it is not included in the payment for another service on the same date.',
  pricing: 'The amount allowed is below the rate agreed for this service. We ask that the claim be reprocessed at the contracted rate.',
  missing_information: 'The information needed to adjudicate the claim is now complete, as shown below and in the enclosed documents.',
  other: 'We believe this claim was denied in error and ask that it be reconsidered.',
  uncategorised: 'We believe this claim was denied in error and ask that it be reconsidered.',
};

/** What a template may say in braces, and the fact each stands for. */
export const PLACEHOLDERS: Readonly<Record<string, { says: string; value: (f: AppealFacts) => string }>> = {
  payer: { says: 'the payer\'s name', value: (f) => f.payer.name },
  provider: { says: 'the billing provider\'s name', value: (f) => f.provider.name },
  patient: { says: 'the patient\'s name', value: (f) => f.patient.name },
  claim: { says: 'our claim number (patient control number)', value: (f) => f.claim.patientControlNumber },
  payerClaimNumber: { says: 'the payer\'s claim number', value: (f) => f.claim.payerClaimNumber ?? 'not given' },
  serviceDate: { says: 'the date of service', value: (f) => f.claim.serviceDate ?? 'see claim' },
  amount: { says: 'the amount denied', value: (f) => f.denial.amount },
  billed: { says: 'the amount billed', value: (f) => f.claim.billed },
  carcs: { says: 'the adjustment codes, e.g. CO-197', value: (f) => f.denial.carcs.map((c) => `${c.group}-${c.reason}`).join(', ') },
  deniedOn: { says: 'the date of the remittance that denied it', value: (f) => f.denial.deniedOn ?? 'see remittance' },
  sentOn: { says: 'the date we first sent the claim', value: (f) => f.filing.sentOn ?? 'not recorded' },
};

const PLACEHOLDER = /\{([A-Za-z]*)\}/g;

/** Why a template cannot be saved (unknown placeholder, stray brace, length), or null. */
export function templateProblem(body: string): string | null {
  const text = body.trim();
  if (text.length < 20 || text.length > 4000) return 'a template needs 20 to 4,000 characters';
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (!Object.hasOwn(PLACEHOLDERS, m[1] as string)) return `{${m[1] as string}} is not a placeholder (known: ${Object.keys(PLACEHOLDERS).map((k) => `{${k}}`).join(', ')})`;
  }
  if (/[{}]/.test(text.replace(PLACEHOLDER, ''))) return 'a brace that is not part of a placeholder';
  return null;
}

/** A template with its placeholders filled in: paragraphs split on blank lines. */
export function fillTemplate(body: string, f: AppealFacts): string[] {
  return body.trim().replace(/\r\n?/g, '\n').split(/\n\s*\n/).map((p) => p.replace(/\s*\n\s*/g, ' ').replace(PLACEHOLDER, (_, k: string) => (Object.hasOwn(PLACEHOLDERS, k) ? (PLACEHOLDERS[k] as (typeof PLACEHOLDERS)[string]).value(f) : `{${k}}`)));
}

/** The letter's blocks (PDF), from the facts and the category's argument (an admin's template, else the shipped one). */
export function appealLetter(f: AppealFacts, template?: string): PdfBlock[] {
  const blocks: PdfBlock[] = [];
  const line = (text: string, o: Partial<PdfBlock> = {}): void => {
    blocks.push({ text, ...o });
  };
  line(f.provider.name, { bold: true, size: 12 });
  for (const a of f.provider.address) line(a);
  line(`NPI ${f.provider.npi}`);
  line(f.today, { before: 14 });
  line(f.payer.name, { before: 14 });
  for (const a of f.payer.address) line(a);
  line(`Request for reconsideration (appeal) of claim ${f.claim.patientControlNumber}`, { bold: true, before: 18 });
  line(`Patient: ${f.patient.name}${f.patient.birthDate !== null ? `, born ${f.patient.birthDate}` : ''}${f.patient.memberId !== null ? `, member id ${f.patient.memberId}` : ''}`, { before: 6 });
  line(`Our claim number: ${f.claim.patientControlNumber}${f.claim.payerClaimNumber !== null ? `; your claim number: ${f.claim.payerClaimNumber}` : ''}`);
  line(`Date of service: ${f.claim.serviceDate ?? 'see claim'}; billed ${f.claim.billed}${f.claim.line !== null ? `; service line ${f.claim.line}` : ''}`);
  line(`Amount denied: ${f.denial.amount}${f.denial.deniedOn !== null ? ` (remittance of ${f.denial.deniedOn})` : ''}`);
  for (const c of f.denial.carcs) line(`Adjustment ${c.group}-${c.reason}: ${c.text}`);
  for (const r of f.denial.rarcs) line(`Remark ${r.code}: ${r.text}`);
  line('To whom it may concern,', { before: 14 });
  for (const p of fillTemplate(template ?? DEFAULT_ARGUMENTS[f.denial.category], f)) line(p, { before: 6 });
  line(`We ask that you reconsider the claim and pay the amount denied (${f.denial.amount}), or tell us what else you need.`, { before: 6 });
  line('Proof of timely filing', { bold: true, before: 14 });
  line(f.filing.sentOn !== null
    ? `The claim was sent electronically (ASC X12 837) on ${f.filing.sentOn}${f.filing.batchFile !== null ? ` in file ${f.filing.batchFile}` : ''}${f.filing.interchangeControlNumber !== null ? `, interchange control number ${f.filing.interchangeControlNumber}` : ''}.`
    : 'Our records show no electronic submission of this claim.');
  if (f.filing.ack999 !== null) line(`Implementation acknowledgement (999): ${f.filing.ack999}.`);
  if (f.filing.ack277 !== null) line(`Claim acknowledgement (277CA): ${f.filing.ack277}.`);
  line('Sincerely,', { before: 18 });
  line(f.signer);
  line(`for ${f.provider.name}`);
  return blocks;
}
