/**
 * One 837 interchange file: ISA, one GS for one claim type (837P and 837I never share a GS), and
 * as many ST transactions as needed at most `claimsPerTransaction` claims each. Claims are added
 * one at a time and the text goes to a sink in chunks: a batch of any size is streamed.
 */
import { IMPLEMENTATION, Transaction837Writer, type Claim837, type ClaimType, type Receiver, type Submitter } from './claim837';
import { writeGe, writeGs, writeIea, writeIsa, type GroupHeader, type InterchangeHeader } from './envelope';
import { X12Writer, type X12Delimiters } from './writer';

export interface Batch837Options {
  type: ClaimType;
  delimiters: X12Delimiters;
  interchange: InterchangeHeader;
  group: Omit<GroupHeader, 'version'>;
  submitter: Submitter;
  receiver: Receiver;
  /** At most 5,000 claims per transaction set (the TR3's recommendation). */
  claimsPerTransaction?: number;
  /** ST02 and BHT03 of the n-th (0-based) transaction. */
  transaction: (n: number) => { controlNumber: number; referenceId: string };
}

export interface Batch837Summary {
  claims: number;
  transactions: number;
  bytes: number;
}

export class Batch837Writer {
  private readonly w: X12Writer;
  private current: Transaction837Writer | undefined;
  private currentControlNumber = 0;
  private transactions = 0;
  private claims = 0;
  private bytes = 0;
  private readonly perTransaction: number;
  private readonly group: GroupHeader;

  constructor(
    private readonly opts: Batch837Options,
    sink: (chunk: string) => void,
  ) {
    this.perTransaction = opts.claimsPerTransaction ?? 5000;
    this.group = { ...opts.group, version: IMPLEMENTATION[opts.type] };
    this.w = new X12Writer(opts.delimiters, (chunk) => {
      this.bytes += chunk.length;
      sink(chunk);
    });
    writeIsa(this.w, opts.interchange);
    writeGs(this.w, this.group);
  }

  /** Adds a claim; returns the ST02 of the transaction set it went into. */
  add(claim: Claim837): number {
    if (this.current && this.current.claims >= this.perTransaction) {
      this.current.end();
      this.current = undefined;
    }
    if (!this.current) {
      const t = this.opts.transaction(this.transactions);
      this.currentControlNumber = t.controlNumber;
      this.current = new Transaction837Writer(this.w, this.opts.type, {
        controlNumber: t.controlNumber, referenceId: t.referenceId, createdAt: this.opts.interchange.createdAt, submitter: this.opts.submitter, receiver: this.opts.receiver,
      });
      this.current.begin();
      this.transactions++;
    }
    this.current.add(claim);
    this.claims++;
    return this.currentControlNumber;
  }

  finish(): Batch837Summary {
    if (this.claims === 0) throw new RangeError('an 837 file needs at least one claim');
    this.current?.end();
    writeGe(this.w, this.transactions, this.group);
    writeIea(this.w, 1, this.opts.interchange);
    this.w.flush();
    return { claims: this.claims, transactions: this.transactions, bytes: this.bytes };
  }
}

/** The whole file as a string (tests, small batches). */
export function write837File(opts: Batch837Options, claims: Iterable<Claim837>): { text: string; summary: Batch837Summary } {
  const chunks: string[] = [];
  const b = new Batch837Writer(opts, (c) => chunks.push(c));
  for (const c of claims) b.add(c);
  const summary = b.finish();
  return { text: chunks.join(''), summary };
}
