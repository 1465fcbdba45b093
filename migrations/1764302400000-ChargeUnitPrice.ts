import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A charge sent with a unit amount and a quantity but no extended amount (FT1-12 x FT1-10, FT1-11
 * empty) is priced from them, and its price source says so ('unit_price').
 */
export class ChargeUnitPrice1764302400000 implements MigrationInterface {
  name = 'ChargeUnitPrice1764302400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE charge DROP CONSTRAINT ck_charge_price_source`);
    await q.query(`ALTER TABLE charge ADD CONSTRAINT ck_charge_price_source CHECK (price_source IN ('message', 'unit_price', 'chargemaster', 'unpriced'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE charge DROP CONSTRAINT ck_charge_price_source`);
    await q.query(`ALTER TABLE charge ADD CONSTRAINT ck_charge_price_source CHECK (price_source IN ('message', 'chargemaster', 'unpriced'))`);
  }
}
