import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { EncounterEntity } from './encounter.entity';
import { PatientEntity, type PostalAddress } from './patient.entity';

/** An IN1/IN2 insurance: on the encounter (account) it came with, or on the person (A28/A31). */
@Entity({ name: 'coverage' })
@Unique('uq_coverage_key', ['coverageKey'])
@Index('ix_coverage_encounter', ['encounterId', 'setId'])
@Index('ix_coverage_patient', ['patientId'])
export class CoverageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_coverage' }) id!: string;
  @Column({ name: 'coverage_key', type: 'text' }) coverageKey!: string;
  @Column({ name: 'patient_id', type: 'bigint' }) patientId!: string;
  // No FK on intake's hot-path rows: parents by construction, never deleted (migration 1764129600000).
  @ManyToOne(() => PatientEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'patient_id' })
  patient?: PatientEntity;
  @Column({ name: 'encounter_id', type: 'bigint', nullable: true }) encounterId!: string | null;
  @ManyToOne(() => EncounterEntity, { nullable: true, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'encounter_id' })
  encounter?: EncounterEntity | null;
  /** IN1-1: the order of coverages (1 = primary). */
  @Column({ name: 'set_id', type: 'integer' }) setId!: number;
  @Column({ name: 'payer_id', type: 'text', nullable: true }) payerId!: string | null;
  @Column({ name: 'payer_name', type: 'text', nullable: true }) payerName!: string | null;
  @Column({ name: 'plan_id', type: 'text', nullable: true }) planId!: string | null;
  @Column({ name: 'plan_type', type: 'text', nullable: true }) planType!: string | null;
  @Column({ name: 'group_number', type: 'text', nullable: true }) groupNumber!: string | null;
  @Column({ name: 'group_name', type: 'text', nullable: true }) groupName!: string | null;
  @Column({ name: 'member_id', type: 'text', nullable: true }) memberId!: string | null;
  @Column({ name: 'insured_name', type: 'jsonb', nullable: true }) insuredName!: { family?: string; given?: string; middle?: string } | null;
  @Column({ name: 'insured_relationship', type: 'text', nullable: true }) insuredRelationship!: string | null;
  @Column({ name: 'insured_birth_date', type: 'date', nullable: true }) insuredBirthDate!: string | null;
  @Column({ name: 'insured_address', type: 'jsonb', nullable: true }) insuredAddress!: PostalAddress | null;
  @Column({ name: 'effective_date', type: 'date', nullable: true }) effectiveDate!: string | null;
  @Column({ name: 'expiration_date', type: 'date', nullable: true }) expirationDate!: string | null;
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true }) lastMessageId!: string | null;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}
