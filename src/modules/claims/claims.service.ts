import { Injectable } from '@nestjs/common';
import { logger } from '../../common/logger';
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

/**
 * Claim building: each encounter with unbilled charges in its own transaction (its row locked,
 * so concurrent builders never double-bill it); the rules live in claim-builder.ts.
 */
@Injectable()
export class ClaimsService {
  private readonly log = logger('claims');

  constructor(private readonly repository: ClaimsRepository) {}

  async build(opts: { encounterIds?: string[]; limit?: number; settledMinutes?: number; actor: string }): Promise<BuildSummary> {
    const started = Date.now();
    const summary: BuildSummary = { encounters: 0, created: 0, updated: 0, ready: 0, held: 0, skipped: 0 };
    const practice = await this.repository.practiceView();
    const rebuild = statusesToRebuild(opts.encounterIds !== undefined);
    const candidates = await this.repository.candidateEncounters(opts.encounterIds, opts.limit ?? 10_000, opts.settledMinutes);
    for (const encounterId of candidates) {
      await this.repository.transaction(async (em) => {
        const bundle = await this.repository.bundle(em, encounterId, rebuild);
        if (!bundle) return;
        summary.encounters++;
        const outcome = buildEncounterClaims(bundle, practice);
        if (outcome.drafts.length === 0) {
          summary.skipped++;
          return;
        }
        const saved = await this.repository.saveDrafts(em, encounterId, bundle.patient.id, outcome.drafts, opts.actor, rebuild);
        for (const s of saved) {
          if (s.created) summary.created++;
          else summary.updated++;
          if (s.status === 'held') summary.held++;
          else summary.ready++;
        }
      });
    }
    this.log.info({ event: 'claims_built', ...summary, ms: Date.now() - started });
    return summary;
  }

  /**
   * A replacement (frequency 7: rebuilt from the encounter's current data for the same charges) or
   * a void (8: the claim as sent). The new claim carries the payer's claim number in REF*F8 and
   * goes out in the next batch; the original becomes `replaced`.
   */
  async correct(claimId: string, frequency: '7' | '8', actor: string): Promise<SavedClaim> {
    const practice = frequency === '7' ? await this.repository.practiceView() : undefined;
    return this.repository.transaction(async (em) => {
      const o = await this.repository.lockForCorrection(em, claimId);
      if (frequency === '8') {
        return this.repository.saveCorrection(em, o, { claim: o.payload, lineCharges: o.lineCharges, problems: [], totalCharge: o.totalCharge, serviceFrom: o.serviceFrom, serviceTo: o.serviceTo }, '8', actor);
      }
      const bundle = await this.repository.bundle(em, o.encounterId, [], o.id);
      const outcome = bundle && practice ? buildEncounterClaims(bundle, practice) : { drafts: [] };
      if (outcome.drafts.length === 0) throw new CorrectionError('conflict', `claim ${claimId} has no billable charges left: void it (frequency 8) instead`);
      if (outcome.drafts.length > 1) throw new CorrectionError('conflict', `the corrected claim ${claimId} would split into ${outcome.drafts.length} claims: void it and bill the encounter again`);
      const saved = await this.repository.saveCorrection(em, o, outcome.drafts[0] as (typeof outcome.drafts)[number], '7', actor);
      this.log.info({ event: 'claim_corrected', claimId, newClaimId: saved.id, frequency });
      return saved;
    });
  }
}
