import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { fromCents } from '../../lib/decimal';
import type { Claim837, LineAdjudication } from '../../lib/x12';
import { adjudicate, isExpectedAdjustment, type PostedAdjustment, type PostedPayment } from '../remittance/adjudication';
import { RemittanceRepository } from '../remittance/remittance.repository';
import { RemittanceService } from '../remittance/remittance.service';
import { ScrubberService } from '../scrubber/scrubber.service';
import { buildFollowingClaim, type EarlierAdjudication } from './claim-builder';
import { ClaimsRepository } from './claims.repository';

/** Statuses after which the payer has adjudicated the claim (a claim to the next payer can follow). */
const ADJUDICATED = new Set(['paid', 'partially_paid', 'denied']);

/**
 * Coordination of benefits: when a payer's 835 leaves a balance (patient responsibility, or what
 * it did not cover) and the encounter has a further coverage whose payer is in the practice setup,
 * the claim to that payer is built (frequency 1, SBR01 S or T, the earlier payers' adjudication in
 * 2320/2330 and 2430) in the posting's own transaction, scrubbed, and batched like any claim. A
 * payer that forwarded the claim itself (crossover) is not billed again; a reversal of the earlier
 * payer's payment holds the unbatched claim that followed it until the correction arrives.
 */
@Injectable()
export class SecondaryClaimsService implements OnModuleInit {
  private readonly log = logger('claims');

  constructor(
    private readonly claims: ClaimsRepository,
    private readonly remittanceRepository: RemittanceRepository,
    private readonly remittances: RemittanceService,
    private readonly scrubber: ScrubberService,
  ) {}

  onModuleInit(): void {
    this.remittances.afterPosting(async (em, claimIds, actor) => {
      await this.follow(em, claimIds, actor);
    });
  }

  /** After payments were posted on `claimIds`: the claims to the next payers, built, updated, held or cancelled. */
  async follow(em: EntityManager, claimIds: string[], actor: string): Promise<{ built: string[]; held: string[]; cancelled: string[] }> {
    const out = { built: [] as string[], held: [] as string[], cancelled: [] as string[] };
    const sources = await this.claims.followCandidates(em, claimIds);
    if (sources.length === 0) return out;
    const practice = await this.claims.practiceView(em);
    const payments = await this.remittanceRepository.payments(em, sources.flatMap((s) => (s.primaryClaimId !== null ? [s.id, s.primaryClaimId] : [s.id])));
    for (const source of sources) {
      if (source.status === 'reversed') {
        if (await this.claims.stopFollowing(em, source, 'held', 'the earlier payer\'s payment was reversed: held until its correction arrives', actor)) out.held.push(source.followingId as string);
        continue;
      }
      if (source.status === 'forwarded') {
        if (await this.claims.stopFollowing(em, source, 'cancelled', 'the earlier payer forwarded the claim to the next payer itself (crossover): not billed again', actor)) out.cancelled.push(source.followingId as string);
        continue;
      }
      if (!ADJUDICATED.has(source.status)) continue;
      const own = earlierAdjudicationOf(source.payload, source.lineIds, payments.get(source.id) ?? [], source.payerSequence === 'S' ? 'S' : 'P');
      if (own.remainingCents <= 0) {
        if (await this.claims.stopFollowing(em, source, 'cancelled', 'the earlier payer paid the claim in full: nothing is left for the next payer', actor)) out.cancelled.push(source.followingId as string);
        continue;
      }
      if (!own.complete) continue; // a line not adjudicated yet (a split claim's other part is still to come)
      const earlier: EarlierAdjudication[] = [];
      if (source.payerSequence === 'S' && source.primaryClaimId !== null) {
        const primary = await this.claims.followSource(em, source.primaryClaimId);
        if (!primary) continue;
        earlier.push(earlierAdjudicationOf(primary.payload, primary.lineIds, payments.get(primary.id) ?? [], 'P').adjudication);
      }
      earlier.push(own.adjudication);
      const sequence = source.payerSequence === 'P' ? 'S' : 'T';
      const bundle = await this.claims.bundle(em, source.encounterId, [], source.id);
      if (!bundle) continue;
      const built = buildFollowingClaim(bundle, practice, source.payload, earlier, sequence);
      if (built.draft === undefined) continue;
      const reason = `${sequence === 'S' ? 'secondary' : 'tertiary'} claim after ${source.payload.payer.name} adjudicated claim ${source.payload.patientControlNumber}: paid ${earlier[earlier.length - 1]?.paid ?? ''}, patient responsibility ${own.adjudication.remainingPatientLiability}`;
      const saved = await this.claims.saveFollowing(em, source, built.draft, sequence, reason, actor);
      await this.scrubber.rescrub(em, [saved.id], actor);
      out.built.push(saved.id);
      this.log.info({ event: 'following_claim_built', claimId: saved.id, followsClaimId: source.id, sequence, created: saved.created });
    }
    return out;
  }
}

/**
 * What a payer did with a claim, net of reversals (its own payments only), as the next payer's
 * claim reports it: paid (AMT*D), claim-level adjustments (2320 CAS), patient responsibility
 * (AMT*EAF), and per line what it paid and adjusted (2430), the procedure and units as it
 * adjudicated them and the date of its latest payment. `remainingCents`: what it left unpaid that
 * another payer may cover (patient responsibility and adjustments that are not contractual).
 */
export function earlierAdjudicationOf(
  claim: Claim837, lineIds: string[], payments: readonly PostedPayment[], responsibility: 'P' | 'S',
): { adjudication: EarlierAdjudication; complete: boolean; remainingCents: number } {
  const own = payments.filter((p) => p.ownPayer);
  const result = adjudicate(0, lineIds.map((id, i) => ({ id, lineNumber: i + 1, chargeCents: 0, serviceDate: claim.lines[i]?.serviceDate ?? '' })), own);
  const reversed = new Set(own.flatMap((p) => (p.reversesId !== null ? [p.reversesId] : [])));
  const standing = own.filter((p) => p.statusCode !== '22' && !reversed.has(p.id));
  const latest = standing[standing.length - 1];
  const net = (list: PostedAdjustment[]): PostedAdjustment[] => {
    const sums = new Map<string, PostedAdjustment>();
    for (const a of list) {
      const k = `${a.group}|${a.reason}`;
      const e = sums.get(k);
      if (e) e.amountCents += a.amountCents;
      else sums.set(k, { ...a });
    }
    return [...sums.values()].filter((a) => a.amountCents !== 0);
  };
  const asCas = (list: PostedAdjustment[]): { group: string; reason: string; amount: string }[] => list.map((a) => ({ group: a.group, reason: a.reason, amount: fromCents(a.amountCents) }));
  // What another payer may still cover: patient responsibility and what was not covered for a reason that is not contractual.
  let remaining = 0;
  const count = (list: PostedAdjustment[]): void => {
    for (const a of list) if (a.group === 'PR' || !isExpectedAdjustment(a.group, a.reason)) remaining += a.amountCents;
  };
  const claimAdjustments = net(own.flatMap((p) => p.adjustments));
  count(claimAdjustments);
  const lines: (LineAdjudication | undefined)[] = lineIds.map((id, i) => {
    const state = result.lines.find((l) => l.lineId === id);
    const services = own.flatMap((p) => p.services.filter((sv) => sv.claimLineId === id).map((sv) => ({ p, sv })));
    const last = [...services].reverse().find((x) => x.p.statusCode !== '22' && !reversed.has(x.p.id));
    if (!state || state.status === 'pending' || state.status === 'reversed' || !last) return undefined;
    const adjustments = net(services.flatMap((x) => x.sv.adjustments));
    count(adjustments);
    const billed = claim.lines[i];
    return {
      payerId: claim.payer.id, paid: fromCents(state.paidCents), procedure: last.sv.procedure ?? { qualifier: 'HC', code: billed?.procedureCode ?? '', modifiers: billed?.modifiers ?? [] },
      revenueCode: last.sv.revenueCode ?? (claim.type === 'institutional' ? billed?.revenueCode : undefined), paidUnits: (last.sv.units ?? billed?.quantity ?? '1').replace(/^-/, ''), adjustments: asCas(adjustments), date: last.p.paymentDate ?? '',
    };
  });
  const adjudication: EarlierAdjudication = {
    payer: { name: claim.payer.name, id: claim.payer.id }, payerResponsibility: responsibility, claimFilingIndicator: claim.subscriber.claimFilingIndicator,
    relationship: claim.patient?.relationship ?? '18', groupNumber: claim.subscriber.groupNumber,
    subscriber: { last: claim.subscriber.last, first: claim.subscriber.first, middle: claim.subscriber.middle, memberId: claim.subscriber.memberId },
    paid: fromCents(result.balance.paid), claimAdjustments: asCas(claimAdjustments), remainingPatientLiability: fromCents(result.balance.patientResponsibility),
    payerClaimControlNumber: latest?.payerClaimControlNumber ?? undefined, lines,
  };
  return { adjudication, complete: lines.every((l) => l !== undefined) && latest !== undefined, remainingCents: remaining };
}
