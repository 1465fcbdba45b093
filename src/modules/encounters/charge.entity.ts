import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { InboundMessageEntity } from '../intake/inbound-message.entity';
import { EncounterEntity, type Provider } from './encounter.entity';
import { PatientEntity } from './patient.entity';

export const CHARGE_STATUSES = ['posted', 'held', 'reversed', 'reversal', 'unmatched_credit'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];
/** FT1-11 ('message'), FT1-12 x FT1-10 ('unit_price'), the chargemaster, or none. */
export type PriceSource = 'message' | 'unit_price' | 'chargemaster' | 'unpriced';

/** One FT1: a charge (or a credit reversing one). Amounts are NUMERIC, read as decimal strings. */
@Entity({ name: 'charge' })
@Unique('uq_charge_message_ft1', ['messageId', 'ft1Index'])
@Index('ix_charge_encounter', ['encounterId', 'transactionId'])
@Index('ix_charge_claim', ['claimId'], { where: 'claim_id IS NOT NULL' })
@Index('ix_charge_unbilled', ['encounterId'], { where: 'claim_id IS NULL' })
@Check('ck_charge_status', `status IN ('posted', 'held', 'reversed', 'reversal', 'unmatched_credit')`)
@Check('ck_charge_price_source', `price_source IN ('message', 'unit_price', 'chargemaster', 'unpriced')`)
export class ChargeEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_charge' }) id!: string;
  @Column({ name: 'encounter_id', type: 'bigint' }) encounterId!: string;
  // No FK on intake's hot-path rows: parents by construction, never deleted (migration 1764129600000).
  @ManyToOne(() => EncounterEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'encounter_id' })
  encounter?: EncounterEntity;
  @Column({ name: 'patient_id', type: 'bigint' }) patientId!: string;
  /** The encounter's patient, denormalized for queries; integrity comes through the encounter (no FK, to keep intake writes lean). */
  @ManyToOne(() => PatientEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'patient_id' })
  patient?: PatientEntity;
  @Column({ name: 'message_id', type: 'bigint' }) messageId!: string;
  @ManyToOne(() => InboundMessageEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'message_id' })
  message?: InboundMessageEntity;
  /** Which FT1 of the message (1-based). */
  @Column({ name: 'ft1_index', type: 'integer' }) ft1Index!: number;
  @Column({ name: 'transaction_id', type: 'text', nullable: true }) transactionId!: string | null;
  @Column({ name: 'transaction_batch_id', type: 'text', nullable: true }) transactionBatchId!: string | null;
  @Column({ name: 'service_date', type: 'date' }) serviceDate!: string;
  @Column({ name: 'service_end_date', type: 'date', nullable: true }) serviceEndDate!: string | null;
  @Column({ name: 'posting_date', type: 'date', nullable: true }) postingDate!: string | null;
  /** FT1-6: CG charge, CD credit, PY payment, AJ adjustment. */
  @Column({ name: 'transaction_type', type: 'text' }) transactionType!: string;
  @Column({ name: 'transaction_code', type: 'text', nullable: true }) transactionCode!: string | null;
  @Column({ name: 'transaction_code_system', type: 'text', nullable: true }) transactionCodeSystem!: string | null;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'numeric', precision: 12, scale: 3 }) quantity!: string;
  @Column({ type: 'numeric', precision: 12, scale: 2, nullable: true }) amount!: string | null;
  @Column({ name: 'unit_amount', type: 'numeric', precision: 12, scale: 2, nullable: true }) unitAmount!: string | null;
  @Column({ type: 'text', nullable: true }) department!: string | null;
  @Column({ name: 'insurance_plan_id', type: 'text', nullable: true }) insurancePlanId!: string | null;
  @Column({ name: 'diagnosis_codes', type: 'text', array: true, default: () => `'{}'` }) diagnosisCodes!: string[];
  @Column({ name: 'performing_provider', type: 'jsonb', nullable: true }) performingProvider!: Provider | null;
  @Column({ name: 'ordering_provider', type: 'jsonb', nullable: true }) orderingProvider!: Provider | null;
  /** FT1-25 CPT/HCPCS. */
  @Column({ name: 'procedure_code', type: 'text', nullable: true }) procedureCode!: string | null;
  @Column({ name: 'procedure_code_system', type: 'text', nullable: true }) procedureCodeSystem!: string | null;
  @Column({ type: 'text', array: true, default: () => `'{}'` }) modifiers!: string[];
  @Column({ type: 'text', nullable: true }) ndc!: string | null;
  @Column({ name: 'is_credit', type: 'boolean', default: false }) isCredit!: boolean;
  @Column({ type: 'text' }) status!: ChargeStatus;
  @Column({ name: 'hold_reason', type: 'text', nullable: true }) holdReason!: string | null;
  @Column({ name: 'price_source', type: 'text' }) priceSource!: PriceSource;
  @Column({ name: 'reverses_charge_id', type: 'bigint', nullable: true }) reversesChargeId!: string | null;
  // Checked by a row trigger when set, not a foreign key (migration 1764216000000).
  @ManyToOne(() => ChargeEntity, { nullable: true, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'reverses_charge_id' })
  reversesCharge?: ChargeEntity | null;
  @Column({ name: 'reversed_by_charge_id', type: 'bigint', nullable: true }) reversedByChargeId!: string | null;
  @ManyToOne(() => ChargeEntity, { nullable: true, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'reversed_by_charge_id' })
  reversedByCharge?: ChargeEntity | null;
  /** The claim this charge is billed on (set by the claim builder). */
  @Column({ name: 'claim_id', type: 'bigint', nullable: true }) claimId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
}
