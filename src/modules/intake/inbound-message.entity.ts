import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';

export const MESSAGE_STATUSES = ['processed', 'error', 'rejected', 'duplicate', 'ignored'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Every frame or file message received, stored raw, with what became of it. */
@Entity({ name: 'inbound_message' })
@Index('uq_inbound_message_original', ['controlId', 'sendingApplication', 'sendingFacility', 'contentHash'], { unique: true, where: 'duplicate_of_id IS NULL' })
@Index('ix_inbound_message_attention', ['status', 'id'], { where: "status <> 'processed'" })
@Check('ck_inbound_message_status', `status IN ('processed', 'error', 'rejected', 'duplicate', 'ignored')`)
export class InboundMessageEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_inbound_message' }) id!: string;
  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' }) receivedAt!: Date;
  @Column({ type: 'text' }) source!: string;
  @Column({ name: 'connection_id', type: 'text', nullable: true }) connectionId!: string | null;
  @Column({ name: 'control_id', type: 'text', default: '' }) controlId!: string;
  @Column({ name: 'sending_application', type: 'text', default: '' }) sendingApplication!: string;
  @Column({ name: 'sending_facility', type: 'text', default: '' }) sendingFacility!: string;
  @Column({ name: 'message_type', type: 'text', default: '' }) messageType!: string;
  @Column({ name: 'trigger_event', type: 'text', default: '' }) triggerEvent!: string;
  @Column({ type: 'text', default: '' }) version!: string;
  @Column({ name: 'batch_control_id', type: 'text', nullable: true }) batchControlId!: string | null;
  @Column({ name: 'content_hash', type: 'bytea' }) contentHash!: Buffer;
  @Column({ type: 'bytea' }) raw!: Buffer;
  @Column({ type: 'text', default: 'utf-8' }) charset!: string;
  @Column({ type: 'text' }) status!: MessageStatus;
  @Column({ name: 'ack_code', type: 'text', nullable: true }) ackCode!: string | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ name: 'error_location', type: 'text', nullable: true }) errorLocation!: string | null;
  /** Problems in fields billing can do without (value dropped, message still applied). */
  @Column({ type: 'text', array: true, nullable: true }) warnings!: string[] | null;
  @Column({ name: 'duplicate_of_id', type: 'bigint', nullable: true }) duplicateOfId!: string | null;
  // Checked by a row trigger when set, not a foreign key (migration 1764216000000).
  @ManyToOne(() => InboundMessageEntity, { nullable: true, createForeignKeyConstraints: false })
  @JoinColumn({ name: 'duplicate_of_id' })
  duplicateOf?: InboundMessageEntity | null;
  @Column({ name: 'control_id_reused', type: 'boolean', default: false }) controlIdReused!: boolean;
  @Column({ type: 'integer', default: 1 }) attempts!: number;
  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true }) processedAt!: Date | null;
  @Column({ name: 'patient_id', type: 'bigint', nullable: true }) patientId!: string | null;
  @Column({ name: 'encounter_id', type: 'bigint', nullable: true }) encounterId!: string | null;
}
