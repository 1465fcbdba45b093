import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { EncounterEntity } from './encounter.entity';

@Entity({ name: 'diagnosis' })
@Unique('uq_diagnosis_code', ['encounterId', 'codingSystem', 'code'])
export class DiagnosisEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_diagnosis' }) id!: string;
  @Column({ name: 'encounter_id', type: 'bigint' }) encounterId!: string;
  // No FK on intake's hot-path rows: parents by construction, never deleted (migration 1764129600000).
  @ManyToOne(() => EncounterEntity, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'encounter_id' })
  encounter?: EncounterEntity;
  @Column({ name: 'set_id', type: 'integer', nullable: true }) setId!: number | null;
  @Column({ type: 'text' }) code!: string;
  /** DG1-3.3, e.g. I10 (ICD-10-CM) or I9. */
  @Column({ name: 'coding_system', type: 'text', default: '' }) codingSystem!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  /** DG1-6: A admitting, W working, F final. */
  @Column({ name: 'diagnosis_type', type: 'text', nullable: true }) diagnosisType!: string | null;
  /** DG1-15: 1 = principal. */
  @Column({ type: 'integer', nullable: true }) priority!: number | null;
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true }) lastMessageId!: string | null;
}
