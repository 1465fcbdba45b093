import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Appeal letter templates an admin has written, one per denial category (the argument of the
 * letter, with placeholders such as {amount}); a category without a row uses the shipped default
 * (src/modules/denials/appeal-letter.ts). Letters already generated keep their text (the PDF is stored).
 */
export class AppealTemplates1764734400000 implements MigrationInterface {
  name = 'AppealTemplates1764734400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE appeal_template (
        category text CONSTRAINT pk_appeal_template PRIMARY KEY,
        body text NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_appeal_template_category CHECK (category IN ('registration_eligibility', 'coding', 'authorization', 'medical_necessity', 'timely_filing', 'duplicate',
          'coordination_of_benefits', 'bundling', 'pricing', 'missing_information', 'other', 'uncategorised')),
        CONSTRAINT ck_appeal_template_body CHECK (length(body) BETWEEN 20 AND 4000)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS appeal_template`);
  }
}
