import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';

export interface PatientIdentifier {
  id: string;
  authority: string;
  type: string;
}

export interface PostalAddress {
  line1?: string;
  line2?: string;
  city?: string;
  state?: string;
  zip?: string;
  country?: string;
}

@Entity({ name: 'patient' })
@Unique('uq_patient_key', ['patientKey'])
export class PatientEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_patient' }) id!: string;
  /** Natural key: PID-3 assigning authority and identifier. */
  @Column({ name: 'patient_key', type: 'text' }) patientKey!: string;
  @Column({ type: 'text' }) mrn!: string;
  @Column({ name: 'mrn_authority', type: 'text', default: '' }) mrnAuthority!: string;
  @Column({ type: 'jsonb', nullable: true }) identifiers!: PatientIdentifier[] | null;
  @Column({ name: 'family_name', type: 'text', nullable: true }) familyName!: string | null;
  @Column({ name: 'given_name', type: 'text', nullable: true }) givenName!: string | null;
  @Column({ name: 'middle_name', type: 'text', nullable: true }) middleName!: string | null;
  @Column({ name: 'name_suffix', type: 'text', nullable: true }) nameSuffix!: string | null;
  @Column({ name: 'birth_date', type: 'date', nullable: true }) birthDate!: string | null;
  @Column({ type: 'text', nullable: true }) sex!: string | null;
  @Column({ type: 'jsonb', nullable: true }) address!: PostalAddress | null;
  @Column({ type: 'text', nullable: true }) phone!: string | null;
  @Column({ name: 'account_number', type: 'text', nullable: true }) accountNumber!: string | null;
  @Column({ name: 'merged_into_id', type: 'bigint', nullable: true }) mergedIntoId!: string | null;
  // Checked by a row trigger when set, not a foreign key (migration 1764216000000).
  @ManyToOne(() => PatientEntity, { nullable: true, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'merged_into_id' })
  mergedInto?: PatientEntity | null;
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true }) lastMessageId!: string | null;
  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' }) createdAt!: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}
