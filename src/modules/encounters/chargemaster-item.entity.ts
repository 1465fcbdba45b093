import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** Chargemaster: prices and codes for feeds that send only internal transaction codes (FT1-7). */
@Entity({ name: 'chargemaster_item' })
@Unique('uq_chargemaster_transaction_code', ['transactionCode'])
export class ChargemasterItemEntity {
  @PrimaryGeneratedColumn({ type: 'bigint', primaryKeyConstraintName: 'pk_chargemaster_item' }) id!: string;
  @Column({ name: 'transaction_code', type: 'text' }) transactionCode!: string;
  @Column({ name: 'procedure_code', type: 'text', nullable: true }) procedureCode!: string | null;
  @Column({ type: 'text', array: true, default: () => `'{}'` }) modifiers!: string[];
  @Column({ name: 'revenue_code', type: 'text', nullable: true }) revenueCode!: string | null;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'numeric', precision: 12, scale: 2 }) price!: string;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt!: Date;
}
