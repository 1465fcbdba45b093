import { Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { EncounterEntity, type Provider } from './encounter.entity';

@Entity({ name: 'procedure' })
@Unique('uq_procedure_key', ['encounterId', 'procedureKey'])
export class ProcedureEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_procedure' }) id!: string;
  @Column({ name: 'encounter_id', type: 'bigint' }) encounterId!: string;
  @ManyToOne(() => EncounterEntity)
  @JoinColumn({ name: 'encounter_id', foreignKeyConstraintName: 'fk_procedure_encounter' })
  encounter?: EncounterEntity;
  @Column({ name: 'set_id', type: 'integer', nullable: true }) setId!: number | null;
  @Column({ type: 'text' }) code!: string;
  @Column({ name: 'coding_system', type: 'text', default: '' }) codingSystem!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ name: 'procedure_at', type: 'timestamp', nullable: true }) procedureAt!: Date | null;
  /** coding system | code | date: one row per procedure performed. */
  @Column({ name: 'procedure_key', type: 'text' }) procedureKey!: string;
  @Column({ type: 'jsonb', nullable: true }) surgeon!: Provider | null;
  @Column({ name: 'last_message_id', type: 'bigint', nullable: true }) lastMessageId!: string | null;
}
