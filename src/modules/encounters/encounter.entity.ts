import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { PatientEntity, type PostalAddress } from './patient.entity';

export const ENCOUNTER_STATUSES = ['preadmit', 'active', 'discharged', 'cancelled'] as const;
export type EncounterStatus = (typeof ENCOUNTER_STATUSES)[number];
/** How the encounter was identified: PV1-19 visit number, PID-18 account number, or patient + date of service. */
export type EncounterKeySource = 'visit' | 'account' | 'service_date';

export interface Provider {
  id?: string;
  npi?: string;
  family?: string;
  given?: string;
}

export interface Guarantor {
  name?: { family?: string; given?: string };
  relationship?: string;
  type?: string;
  address?: PostalAddress;
  phone?: string;
}

@Entity({ name: 'encounter' })
@Unique('uq_encounter_key', ['encounterKey'])
@Index('ix_encounter_patient', ['patientId'])
@Index('ix_encounter_visit_number', ['visitNumber'])
@Check('ck_encounter_status', `status IN ('preadmit', 'active', 'discharged', 'cancelled')`)
@Check('ck_encounter_key_source', `key_source IN ('visit', 'account', 'service_date')`)
export class EncounterEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_encounter' }) id!: string;
  @Column({ name: 'encounter_key', type: 'text' }) encounterKey!: string;
  @Column({ name: 'patient_id', type: 'bigint' }) patientId!: string;
  // No FK on intake's hot-path rows: parents by construction, never deleted (migration 1764129600000).
  @ManyToOne(() => PatientEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'patient_id' })
  patient?: PatientEntity;
  @Column({ name: 'visit_number', type: 'text', nullable: true }) visitNumber!: string | null;
  @Column({ name: 'account_number', type: 'text', nullable: true }) accountNumber!: string | null;
  @Column({ name: 'key_source', type: 'text' }) keySource!: EncounterKeySource;
  @Column({ type: 'text', default: 'active' }) status!: EncounterStatus;
  @Column({ name: 'patient_class', type: 'text', nullable: true }) patientClass!: string | null;
  @Column({ name: 'admit_type', type: 'text', nullable: true }) admitType!: string | null;
  @Column({ name: 'admit_source', type: 'text', nullable: true }) admitSource!: string | null;
  @Column({ name: 'hospital_service', type: 'text', nullable: true }) hospitalService!: string | null;
  @Column({ name: 'financial_class', type: 'text', nullable: true }) financialClass!: string | null;
  @Column({ type: 'text', nullable: true }) facility!: string | null;
  @Column({ type: 'jsonb', nullable: true }) location!: Record<string, string> | null;
  @Column({ name: 'attending_provider', type: 'jsonb', nullable: true }) attendingProvider!: Provider | null;
  @Column({ name: 'referring_provider', type: 'jsonb', nullable: true }) referringProvider!: Provider | null;
  @Column({ name: 'admitting_provider', type: 'jsonb', nullable: true }) admittingProvider!: Provider | null;
  @Column({ name: 'admit_at', type: 'timestamp', nullable: true }) admitAt!: Date | null;
  @Column({ name: 'discharge_at', type: 'timestamp', nullable: true }) dischargeAt!: Date | null;
  @Column({ name: 'discharge_disposition', type: 'text', nullable: true }) dischargeDisposition!: string | null;
  @Column({ type: 'jsonb', nullable: true }) guarantor!: Guarantor | null;
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true }) lastMessageId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}
