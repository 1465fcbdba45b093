/**
 * The practice setup file (YAML or JSON): what a claim needs that no HL7 feed carries. Parsed and
 * validated with class-validator; every problem is reported with its path in the file
 * ("payers[1].payerId: ...") so that whoever maintains the file can fix it.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { plainToInstance, Type } from 'class-transformer';
import {
  ArrayMaxSize, IsArray, IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, Matches, MaxLength, MinLength, ValidateNested, validateSync, type ValidationError,
} from 'class-validator';
import { parse as parseYaml } from 'yaml';
import { isValidNpi } from '../../lib/codes/npi';

export class AddressDto {
  @IsString() @MinLength(1) @MaxLength(55) line1!: string;
  @IsOptional() @IsString() @MaxLength(55) line2?: string;
  @IsString() @MinLength(2) @MaxLength(30) city!: string;
  @Matches(/^[A-Z]{2}$/, { message: 'state must be a two-letter code' }) state!: string;
  @Matches(/^\d{5}(\d{4})?$/, { message: 'zip must be 5 or 9 digits' }) zip!: string;
  @IsOptional() @Matches(/^[A-Z]{2,3}$/) country?: string;
}

const NPI = { message: 'must be a valid 10-digit NPI (Luhn check digit with the 80840 prefix)' };
const npiValid = (v: unknown): boolean => typeof v === 'string' && isValidNpi(v);

export class BillingProviderDto {
  @Matches(/^[a-z0-9][a-z0-9._-]*$/, { message: 'key must be lower-case letters, digits, dot, dash or underscore' }) key!: string;
  @IsIn(['person', 'organization']) kind: 'person' | 'organization' = 'organization';
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  @IsOptional() @IsString() @MaxLength(35) firstName?: string;
  @Matches(/^\d{10}$/, NPI) npi!: string;
  @Matches(/^\d{9}$/, { message: 'taxId must be 9 digits' }) taxId!: string;
  @IsIn(['EI', 'SY']) taxIdType: 'EI' | 'SY' = 'EI';
  @IsOptional() @Matches(/^[0-9A-Z]{9}X$/, { message: 'taxonomy must be a 10-character provider taxonomy code' }) taxonomy?: string;
  @IsObject() @ValidateNested() @Type(() => AddressDto) address!: AddressDto;
  @IsOptional() @ValidateNested() @Type(() => AddressDto) payToAddress?: AddressDto;
}

export class ContactDto {
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  @IsOptional() @Matches(/^\d{10}$/, { message: 'phone must be 10 digits' }) phone?: string;
  @IsOptional() @IsString() @MaxLength(256) email?: string;
}

export class SubmitterDto {
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  @IsString() @MinLength(2) @MaxLength(80) id!: string;
  @IsObject() @ValidateNested() @Type(() => ContactDto) contact!: ContactDto;
}

export class DelimitersDto {
  @Length(1, 1) element = '*';
  @Length(1, 1) component = ':';
  @Length(1, 1) repetition = '^';
  @Length(1, 1) segment = '~';
  @IsBoolean() newline = true;
}

export class DeliveryDto {
  @IsIn(['directory', 'sftp']) type: 'directory' | 'sftp' = 'directory';
  /** Where 837 files are put (a local folder, or a remote one for SFTP). */
  @IsString() @MinLength(1) outbox!: string;
  /** Where the clearinghouse leaves 999/277CA/835 files. */
  @IsString() @MinLength(1) responses!: string;
  @IsOptional() @IsString() host?: string;
  @IsOptional() port?: number;
  @IsOptional() @IsString() username?: string;
  /** Path of a private key file, or the name of an environment variable holding a password (passwordEnv). */
  @IsOptional() @IsString() privateKeyFile?: string;
  @IsOptional() @IsString() passwordEnv?: string;
}

export class IsaDto {
  @Matches(/^[0-9A-Z]{2}$/) senderQualifier = 'ZZ';
  @IsString() @Length(2, 15) senderId!: string;
  @Matches(/^[0-9A-Z]{2}$/) receiverQualifier = 'ZZ';
  @IsString() @Length(2, 15) receiverId!: string;
}

export class GsDto {
  @IsString() @Length(2, 15) senderCode!: string;
  @IsString() @Length(2, 15) receiverCode!: string;
}

export class ClearinghouseDto {
  @Matches(/^[a-z0-9][a-z0-9._-]*$/) key!: string;
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  /** NM1*40 receiver id (1000B). */
  @IsString() @Length(2, 80) receiverId!: string;
  @IsObject() @ValidateNested() @Type(() => IsaDto) isa!: IsaDto;
  @IsObject() @ValidateNested() @Type(() => GsDto) gs!: GsDto;
  @IsIn(['T', 'P'], { message: 'usage must be T (test) or P (production)' }) usage: 'T' | 'P' = 'T';
  @IsBoolean() ackRequested = false;
  @ValidateNested() @Type(() => DelimitersDto) delimiters: DelimitersDto = new DelimitersDto();
  @IsObject() @ValidateNested() @Type(() => DeliveryDto) delivery!: DeliveryDto;
}

/** Claim filing indicator codes (SBR09) of the 837 TR3s. */
export const CLAIM_FILING_INDICATORS = ['11', '12', '13', '14', '15', '16', '17', 'AM', 'BL', 'CH', 'CI', 'DS', 'FI', 'HM', 'LM', 'MA', 'MB', 'MC', 'OF', 'TV', 'VA', 'WC', 'ZZ'];

/** A payer's expected allowed amount for a code (and modifier): a line paid below it is flagged underpaid. */
export class FeeScheduleEntryDto {
  @Matches(/^[A-Z0-9]{5}$/, { message: 'code must be a 5-character CPT/HCPCS code' }) code!: string;
  @IsOptional() @Matches(/^[A-Z0-9]{2}$/, { message: 'modifier must be a 2-character modifier' }) modifier?: string;
  @Matches(/^\d{1,9}(\.\d{1,2})?$/, { message: 'allowed must be a decimal amount like 92.17' }) allowed!: string;
}

export class PayerDto {
  @Matches(/^[a-z0-9][a-z0-9._-]*$/) key!: string;
  /** The X12 payer id the clearinghouse routes by (NM1*PR ... PI). */
  @IsString() @Length(2, 80) payerId!: string;
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  @IsIn(CLAIM_FILING_INDICATORS, { message: `claimFilingIndicator must be one of ${CLAIM_FILING_INDICATORS.join(', ')}` }) claimFilingIndicator!: string;
  /** Key of the clearinghouse the payer's claims go through. */
  @IsString() clearinghouse!: string;
  /** IN1-3 (insurance company id) or IN1-2 (plan id) values the feeds use for this payer. */
  @IsArray() @IsString({ each: true }) hl7Ids: string[] = [];
  /** How the payer names itself on its 835s (TRN03, REF*2U, N1*PR-04), when that is not payerId: claim payments are checked against the claim's payer. */
  @IsArray() @IsString({ each: true }) remitIds: string[] = [];
  /** Optional expected allowed amounts per code (and modifier), per unit. */
  @IsArray() @ValidateNested({ each: true }) @Type(() => FeeScheduleEntryDto) feeSchedule: FeeScheduleEntryDto[] = [];
  @IsOptional() @ValidateNested() @Type(() => AddressDto) address?: AddressDto;
}

export class ServiceFacilityDto {
  @IsString() @MinLength(1) @MaxLength(60) name!: string;
  @IsOptional() @Matches(/^\d{10}$/, NPI) npi?: string;
  @IsObject() @ValidateNested() @Type(() => AddressDto) address!: AddressDto;
}

export class FacilityDto {
  @Matches(/^[a-z0-9][a-z0-9._-]*$/) key!: string;
  /** Facility codes as the feeds send them (PV1-3.4, PV1-39, or MSH-4). */
  @IsArray() @IsString({ each: true }) hl7Codes: string[] = [];
  @IsIn(['professional', 'institutional']) claimType!: 'professional' | 'institutional';
  /** 837P: place of service code (CLM05-1). */
  @IsOptional() @Matches(/^\d{2}$/, { message: 'placeOfService must be a 2-digit place of service code' }) placeOfService?: string;
  /** 837I: type of bill for outpatient encounters, and for inpatient ones (patient class I). */
  @IsOptional() @Matches(/^0\d{2}[0-9A-Z]$/, { message: 'typeOfBill must be 4 characters like 0131' }) typeOfBill?: string;
  @IsOptional() @Matches(/^0\d{2}[0-9A-Z]$/, { message: 'inpatientTypeOfBill must be 4 characters like 0111' }) inpatientTypeOfBill?: string;
  @IsString() billingProvider!: string;
  @IsOptional() @ValidateNested() @Type(() => ServiceFacilityDto) serviceFacility?: ServiceFacilityDto;
  /** Used for encounters whose facility no other entry names. */
  @IsBoolean() default = false;
}

export class ChargemasterEntryDto {
  @IsString() @MinLength(1) transactionCode!: string;
  @IsOptional() @Matches(/^[A-Z0-9]{5}$/, { message: 'procedureCode must be a 5-character CPT/HCPCS code' }) procedureCode?: string;
  @IsArray() @ArrayMaxSize(4) @Matches(/^[A-Z0-9]{2}$/, { each: true, message: 'modifiers must be 2-character codes' }) modifiers: string[] = [];
  @IsOptional() @Matches(/^\d{4}$/, { message: 'revenueCode must be 4 digits' }) revenueCode?: string;
  @IsOptional() @IsString() description?: string;
  @Matches(/^\d{1,9}(\.\d{1,2})?$/, { message: 'price must be a decimal amount like 185.00' }) price!: string;
}

export class PracticeSetupDto {
  @IsObject() @ValidateNested() @Type(() => SubmitterDto) submitter!: SubmitterDto;
  @IsArray() @ValidateNested({ each: true }) @Type(() => ClearinghouseDto) clearinghouses: ClearinghouseDto[] = [];
  @IsArray() @ValidateNested({ each: true }) @Type(() => BillingProviderDto) billingProviders: BillingProviderDto[] = [];
  @IsArray() @ValidateNested({ each: true }) @Type(() => PayerDto) payers: PayerDto[] = [];
  @IsArray() @ValidateNested({ each: true }) @Type(() => FacilityDto) facilities: FacilityDto[] = [];
  @IsArray() @ValidateNested({ each: true }) @Type(() => ChargemasterEntryDto) chargemaster: ChargemasterEntryDto[] = [];
}

export class PracticeSetupError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`Practice setup ${file} is not valid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PracticeSetupError';
  }
}

function flatten(errors: ValidationError[], path: string): string[] {
  return errors.flatMap((e) => {
    const here = /^\d+$/.test(e.property) ? `${path}[${e.property}]` : path === '' ? e.property : `${path}.${e.property}`;
    const messages = Object.values(e.constraints ?? {});
    const own = e.value === undefined && messages.length > 0 ? [`${here}: is required`] : messages.map((m) => `${here}: ${m.replace(new RegExp(`^${e.property} `), '')}`);
    return [...own, ...flatten(e.children ?? [], here)];
  });
}

/** Cross-references and rules no single field states. */
function crossCheck(s: PracticeSetupDto): string[] {
  const problems: string[] = [];
  const keys = (list: { key: string }[], what: string): Set<string> => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.key)) problems.push(`${what}[${i}].key: "${x.key}" is used twice`);
      seen.add(x.key);
    });
    return seen;
  };
  const clearinghouses = keys(s.clearinghouses, 'clearinghouses');
  const providers = keys(s.billingProviders, 'billingProviders');
  keys(s.payers, 'payers');
  keys(s.facilities, 'facilities');
  s.billingProviders.forEach((p, i) => {
    if (!npiValid(p.npi)) problems.push(`billingProviders[${i}].npi: ${NPI.message}`);
    // 837 TR3: the billing provider's ZIP code must be 9 digits (ZIP+4).
    if (p.address.zip.length !== 9) problems.push(`billingProviders[${i}].address.zip: the billing provider's ZIP must have 9 digits (ZIP+4)`);
    if (p.kind === 'organization' && p.firstName !== undefined) problems.push(`billingProviders[${i}].firstName: an organization has no first name`);
  });
  s.payers.forEach((p, i) => {
    if (!clearinghouses.has(p.clearinghouse)) problems.push(`payers[${i}].clearinghouse: no clearinghouse has key "${p.clearinghouse}"`);
  });
  const hl7Payers = new Map<string, number>();
  s.payers.forEach((p, i) => {
    for (const id of p.hl7Ids) {
      const other = hl7Payers.get(id);
      if (other !== undefined) problems.push(`payers[${i}].hl7Ids: "${id}" also maps to payers[${other}]`);
      hl7Payers.set(id, i);
    }
  });
  // An 835's payer must name one payer: a remit id that is another payer's would make its payments ambiguous.
  s.payers.forEach((p, i) => {
    for (const id of p.remitIds) {
      const other = s.payers.findIndex((x, j) => j !== i && (x.payerId === id || x.remitIds.includes(id)));
      if (other >= 0) problems.push(`payers[${i}].remitIds: "${id}" also names payers[${other}]`);
    }
    const fees = new Set<string>();
    p.feeSchedule.forEach((f, k) => {
      const key = `${f.code}|${f.modifier ?? ''}`;
      if (fees.has(key)) problems.push(`payers[${i}].feeSchedule[${k}]: ${f.code}${f.modifier ? ` ${f.modifier}` : ''} is listed twice`);
      fees.add(key);
    });
  });
  s.facilities.forEach((f, i) => {
    if (!providers.has(f.billingProvider)) problems.push(`facilities[${i}].billingProvider: no billing provider has key "${f.billingProvider}"`);
    if (f.claimType === 'professional' && f.placeOfService === undefined) problems.push(`facilities[${i}].placeOfService: required for professional claims`);
    if (f.claimType === 'institutional' && f.typeOfBill === undefined) problems.push(`facilities[${i}].typeOfBill: required for institutional claims`);
    if (f.serviceFacility?.npi !== undefined && !npiValid(f.serviceFacility.npi)) problems.push(`facilities[${i}].serviceFacility.npi: ${NPI.message}`);
  });
  if (s.facilities.filter((f) => f.default).length > 1) problems.push('facilities: at most one facility can be the default');
  const codes = new Set<string>();
  s.chargemaster.forEach((c, i) => {
    if (codes.has(c.transactionCode)) problems.push(`chargemaster[${i}].transactionCode: "${c.transactionCode}" is listed twice`);
    codes.add(c.transactionCode);
  });
  return problems;
}

/** Parses and validates setup text (YAML, of which JSON is a subset). */
export function parsePracticeSetup(text: string, file = 'practice setup'): PracticeSetupDto {
  let plain: unknown;
  try {
    plain = parseYaml(text);
  } catch (e) {
    throw new PracticeSetupError(file, [`not readable as YAML or JSON: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e)}`]);
  }
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) throw new PracticeSetupError(file, ['the file must hold an object with submitter, clearinghouses, billingProviders, payers, facilities']);
  const setup = plainToInstance(PracticeSetupDto, plain, { exposeDefaultValues: true });
  const problems = flatten(validateSync(setup, { forbidUnknownValues: false, whitelist: true, forbidNonWhitelisted: true }), '');
  if (problems.length === 0) problems.push(...crossCheck(setup));
  if (problems.length > 0) throw new PracticeSetupError(file, problems);
  return setup;
}

export function readPracticeSetup(path: string): PracticeSetupDto {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PracticeSetupError(path, [`cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
  return parsePracticeSetup(text, path);
}
