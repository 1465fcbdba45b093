import type { EntityManager } from 'typeorm';
import { Injectable } from '@nestjs/common';
import { logger } from '../../common/logger';
import type { Finding } from '../../lib/scrub';
import { ScrubberService } from '../scrubber/scrubber.service';
import { buildEncounterClaims } from './claim-builder';
import { ClaimsRepository, CorrectionError, statusesToRebuild, type SavedClaim } from './claims.repository';

export interface BuildSummary {
  encounters: number;
  created: number;
  updated: number;
  ready: number;
  held: number;
  skipped: number;
}

/** Encounters built in one transaction (their rows read and written a statement for all at each step)... */
const CHUNK = 100;
/** ...and transactions under way at once, when a build has more than one chunk. */
const BUILD_CONCURRENCY = 2;

/**
 * Claim building: encounters with unbilled charges, a hundred to a transaction (their rows
 * locked, so concurrent builders never double-bill one); the rules live in claim-builder.ts.
 */
@Injectable()
export class ClaimsService {
  private readonly log = logger('claims');

  constructor(
    private readonly repository: ClaimsRepository,
    private readonly scrubber: ScrubberService,
  ) {}

  async build(opts: { encounterIds?: string[]; limit?: number; settledMinutes?: number; actor: string }): Promise<BuildSummary> {
    const started = Date.now();
    const summary: BuildSummary = { encounters: 0, created: 0, updated: 0, ready: 0, held: 0, skipped: 0 };
    const practice = await this.repository.practiceView();
    const explicit = opts.encounterIds !== undefined;
    const rebuild = statusesToRebuild(explicit);
    const candidates = await this.repository.candidateEncounters(opts.encounterIds, opts.limit ?? 50_000, opts.settledMinutes);
    // A chunk of encounters in one transaction: their rows locked (the job skips those another
    // transaction holds: the next run takes them), their claims built, saved and scrubbed with a
    // statement for all of them at each step. New claims are numbered in encounter order.
    const chunk = (encounterIds: string[]): Promise<void> =>
      this.repository.transaction(async (em) => {
        const bundles = await this.repository.bundles(em, encounterIds, rebuild, { skipLocked: !explicit });
        const items: { encounterId: string; patientId: string; drafts: ReturnType<typeof buildEncounterClaims>['drafts'] }[] = [];
        for (const encounterId of encounterIds) {
          const bundle = bundles.get(encounterId);
          if (!bundle) continue;
          summary.encounters++;
          const outcome = buildEncounterClaims(bundle, practice);
          if (outcome.drafts.length === 0) summary.skipped++;
          else items.push({ encounterId, patientId: bundle.patient.id, drafts: outcome.drafts });
        }
        const saved = await this.repository.saveDraftsMany(em, items, opts.actor, rebuild);
        // Every claim is scrubbed as it is built or rebuilt (a new version): an unresolved error holds it.
        const position = new Map(saved.flatMap((claims, i) => claims.map((c) => [c.id, i] as const)));
        const scrubbed = new Map((await this.scrubber.rescrub(em, [...position.keys()], opts.actor, position)).map((o) => [o.claimId, o.status]));
        for (const s of saved.flat()) {
          if (s.created) summary.created++;
          else summary.updated++;
          if ((scrubbed.get(s.id) ?? s.status) === 'held') summary.held++;
          else summary.ready++;
        }
      });
    const chunks: string[][] = [];
    for (let i = 0; i < candidates.length; i += CHUNK) chunks.push(candidates.slice(i, i + CHUNK));
    // A backlog (the job after a busy minute) runs two chunks at once, each in its own transaction
    // (as two instances would): the round trips of one overlap the other's. A failure stops the
    // workers taking more and is raised once they are done.
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < chunks.length) {
        const ids = chunks[next++] as string[];
        try {
          await chunk(ids);
        } catch (e) {
          failure ??= { error: e };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BUILD_CONCURRENCY, chunks.length) }, worker));
    if (failure !== undefined) throw failure.error;
    this.log.info({ event: 'claims_built', ...summary, ms: Date.now() - started });
    return summary;
  }

  /**
   * A replacement (frequency 7: rebuilt from the encounter's current data for the same charges) or
   * a void (8: the claim as sent). The new claim carries the payer's claim number in REF*F8 and
   * goes out in the next batch; the original becomes `replaced`. `after` runs in the same
   * transaction.
   */
  async correct(claimId: string, frequency: '7' | '8', actor: string, after?: (em: EntityManager, corrected: SavedClaim) => Promise<void>): Promise<SavedClaim> {
    const practice = frequency === '7' ? await this.repository.practiceView() : undefined;
    return this.repository.transaction(async (em) => {
      const o = await this.repository.lockForCorrection(em, claimId);
      if (frequency === '8') {
        const voided = await this.repository.saveCorrection(em, o, { claim: o.payload, lineCharges: o.lineCharges, problems: [], totalCharge: o.totalCharge, serviceFrom: o.serviceFrom, serviceTo: o.serviceTo }, '8', actor);
        const [scrubbed] = await this.scrubber.rescrub(em, [voided.id], actor);
        const out = { ...voided, status: scrubbed?.status === 'held' ? 'held' : voided.status };
        await after?.(em, out);
        return out;
      }
      const bundle = await this.repository.bundle(em, o.encounterId, [], o.id);
      const outcome = bundle && practice ? buildEncounterClaims(bundle, practice) : { drafts: [] };
      if (outcome.drafts.length === 0) throw new CorrectionError('conflict', `claim ${claimId} has no billable charges left: void it (frequency 8) instead`);
      if (outcome.drafts.length > 1) throw new CorrectionError('conflict', `the corrected claim ${claimId} would split into ${outcome.drafts.length} claims: void it and bill the encounter again`);
      const saved = await this.repository.saveCorrection(em, o, outcome.drafts[0] as (typeof outcome.drafts)[number], '7', actor);
      const [scrubbed] = await this.scrubber.rescrub(em, [saved.id], actor);
      this.log.info({ event: 'claim_corrected', claimId, newClaimId: saved.id, frequency });
      const out = { ...saved, status: scrubbed?.status === 'held' ? 'held' : saved.status };
      // Work done with the correction, in its transaction (the work queue marks its item resubmitted).
      await after?.(em, out);
      return out;
    });
  }

  /**
   * A dry run for encounters: their claims are built as they would be now and scrubbed; nothing
   * is saved (the transaction is rolled back).
   */
  async dryRunEncounters(encounterIds: readonly string[]): Promise<{ encounterId: string; claims: { claimType: string; part: number; payerId: string | null; problems: unknown[]; wouldBe: string; findings: Finding[] }[]; skipped?: string }[]> {
    const practice = await this.repository.practiceView();
    const [codes, settings] = await Promise.all([this.scrubber.codes(), this.scrubber.settings()]);
    const out: Awaited<ReturnType<ClaimsService['dryRunEncounters']>> = [];
    const rollback = new Error('dry run');
    await this.repository
      .transaction(async (em) => {
        for (const encounterId of encounterIds) {
          const bundle = await this.repository.bundle(em, encounterId, statusesToRebuild(true));
          if (!bundle) {
            out.push({ encounterId, claims: [], skipped: 'no such encounter' });
            continue;
          }
          const outcome = buildEncounterClaims(bundle, practice);
          const claims = [];
          for (const d of outcome.drafts) {
            const findings = await this.scrubber.evaluate(em, d.claim, { claimId: null, patientId: bundle.patient.id, payerRowId: d.payerRowId }, settings, codes);
            const wouldBe = d.problems.length > 0 || findings.some((f) => f.severity === 'error') ? 'held' : 'ready';
            claims.push({ claimType: d.claimType, part: d.part, payerId: d.claim.payer.id || null, problems: d.problems, wouldBe, findings });
          }
          out.push({ encounterId, claims, ...(outcome.skipped !== undefined ? { skipped: outcome.skipped } : {}) });
        }
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    return out;
  }
}
