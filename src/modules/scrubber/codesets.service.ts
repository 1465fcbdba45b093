import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { AdjustmentCodeSets, CodeSets, type LoadedSet } from '../../lib/codes/codesets';
import { PROCESS_ROLE, type ProcessRole } from '../../config/config.module';
import { IMPORT_KINDS, NORMALIZED_HEADER, parseCodeSetFile, type ImportKind } from '../../lib/codes/kinds';
import { CodeSetFileError, writeTsv } from '../../lib/codes/tables';

export interface ImportedCodeSet {
  id: string;
  kind: ImportKind;
  label: string;
  fileName: string;
  rows: number;
  /** false: the same file was imported before (nothing changed). */
  created: boolean;
}

/** How often an instance looks for sets another instance imported. */
const CHECK_EVERY_MS = 30_000;

/**
 * The code sets every instance holds in memory: the shipped files plus the sets imported into
 * PostgreSQL (so all instances see the same imports). Loaded at start; reloaded when a newer
 * import exists (checked at most every 30 s, and at once on this instance after an import).
 */
@Injectable()
export class CodeSetsService implements OnModuleInit {
  private readonly log = logger('codesets');
  private current: CodeSets | undefined;
  private currentImport = '0';
  private checkedAt = 0;
  private loading: Promise<CodeSets> | undefined;

  private adjustment: { codes: AdjustmentCodeSets; importId: string; checkedAt: number } | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(PROCESS_ROLE) private readonly role: ProcessRole = 'service',
  ) {}

  /** The service loads the code sets at start (the first scrub is then fast); a CLI command loads them when it uses them. */
  async onModuleInit(): Promise<void> {
    if (this.role === 'service') await this.get();
  }

  /** Whether the code sets are in memory (the service loads them at start: readiness waits for it). */
  loaded(): boolean {
    return this.current !== undefined;
  }

  /**
   * CARC and RARC wording and status only (remittance posting needs no more): from the full code
   * sets when they are loaded, else the shipped lists plus imported ones, without the 130 MB of
   * diagnosis and procedure codes.
   */
  async adjustmentCodes(em?: EntityManager): Promise<AdjustmentCodeSets> {
    if (this.current) return (await this.get(em)).adjustment;
    const db = em ?? this.dataSource;
    if (this.adjustment && Date.now() - this.adjustment.checkedAt < CHECK_EVERY_MS) return this.adjustment.codes;
    const rows = await db.query<{ id: string; kind: ImportKind; label: string; file_name: string; content: Buffer }[]>(
      `SELECT id::text, kind, label, file_name, content FROM codeset_import WHERE kind IN ('carc', 'rarc') ORDER BY id`,
    );
    const importId = rows[rows.length - 1]?.id ?? '0';
    if (this.adjustment?.importId !== importId) {
      const codes = AdjustmentCodeSets.shipped();
      for (const r of rows) codes.add(parseCodeSetFile(r.kind, gunzipSync(r.content).toString('utf8'), r.label, r.file_name));
      this.adjustment = { codes, importId, checkedAt: Date.now() };
    }
    this.adjustment.checkedAt = Date.now();
    return this.adjustment.codes;
  }

  /**
   * The code sets, reloaded first when another instance imported a set since the last check.
   * Inside a transaction pass its manager: the check then runs on the transaction's connection
   * (the embedded database serves one connection at a time).
   */
  async get(em?: EntityManager): Promise<CodeSets> {
    if (this.current && Date.now() - this.checkedAt < CHECK_EVERY_MS) return this.current;
    const db = em ?? this.dataSource;
    if (this.current) {
      this.checkedAt = Date.now();
      const [row] = await db.query<{ id: string | null }[]>(`SELECT max(id)::text AS id FROM codeset_import`);
      if ((row?.id ?? '0') === this.currentImport) return this.current;
    }
    this.loading ??= this.load(db).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(db: DataSource | EntityManager): Promise<CodeSets> {
    const started = Date.now();
    const cs = CodeSets.shipped();
    const rows = await db.query<{ id: string; kind: ImportKind; label: string; file_name: string; content: Buffer }[]>(
      `SELECT id::text, kind, label, file_name, content FROM codeset_import ORDER BY id`,
    );
    for (const r of rows) cs.add(parseCodeSetFile(r.kind, gunzipSync(r.content).toString('utf8'), r.label, r.file_name), 'imported');
    this.current = cs;
    this.currentImport = rows[rows.length - 1]?.id ?? '0';
    this.checkedAt = Date.now();
    this.log.info({ event: 'codesets_loaded', sets: cs.sets.length, imported: rows.length, ms: Date.now() - started });
    return cs;
  }

  /**
   * Imports a file of `kind` (all or nothing: it is read whole first, and refused naming the line
   * on the first problem). The same file twice is imported once.
   */
  async import(kind: string, file: { name: string; content: Buffer }, label: string | undefined, actor: string): Promise<ImportedCodeSet> {
    if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new CodeSetFileError(`unknown code-set kind "${kind}": one of ${IMPORT_KINDS.join(', ')}`);
    const k = kind as ImportKind;
    const text = (file.name.endsWith('.gz') ? gunzipSync(file.content) : file.content).toString(k === 'icd10cm' || k === 'icd10pcs' || k === 'hcpcs' ? 'latin1' : 'utf8');
    const set = parseCodeSetFile(k, text, label ?? defaultLabel(k), file.name);
    const sha = createHash('sha256').update(file.content).digest();
    const content = gzipSync(writeTsv(NORMALIZED_HEADER[k], set.rows));
    const [row] = await this.dataSource.query<{ id: string; created: boolean; label: string }[]>(
      `WITH ins AS (
         INSERT INTO codeset_import (kind, label, file_name, sha256, row_count, content, imported_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (kind, sha256) DO NOTHING RETURNING id, label
       )
       SELECT id::text, true AS created, label FROM ins
       UNION ALL SELECT id::text, false, label FROM codeset_import WHERE kind = $1 AND sha256 = $4 AND NOT EXISTS (SELECT 1 FROM ins)`,
      [k, set.label, file.name, sha, set.rows.length, content, actor],
    );
    if (!row) throw new Error('code-set import returned nothing');
    this.checkedAt = 0; // reload on next use
    if (this.adjustment) this.adjustment.checkedAt = 0;
    this.log.info({ event: 'codeset_imported', kind: k, label: row.label, rows: set.rows.length, created: row.created, importId: row.id });
    return { id: row.id, kind: k, label: row.label, fileName: file.name, rows: set.rows.length, created: row.created };
  }

  async list(): Promise<{ loaded: LoadedSet[]; imports: { id: string; kind: string; label: string; fileName: string; rows: number; importedBy: string; importedAt: string }[] }> {
    const cs = await this.get();
    const imports = await this.dataSource.query<{ id: string; kind: string; label: string; file_name: string; row_count: number; imported_by: string; imported_at: Date }[]>(
      `SELECT id::text, kind, label, file_name, row_count, imported_by, imported_at FROM codeset_import ORDER BY id`,
    );
    return {
      loaded: cs.sets,
      imports: imports.map((r) => ({ id: r.id, kind: r.kind, label: r.label, fileName: r.file_name, rows: r.row_count, importedBy: r.imported_by, importedAt: r.imported_at.toISOString() })),
    };
  }
}

/** NCCI, MUE, HCPCS and modifier files need no label; ICD-10-CM and fee-schedule files do (FY2028, CY2026). */
function defaultLabel(kind: ImportKind): string {
  if (kind === 'icd10cm' || kind === 'icd10pcs' || kind === 'pfs') throw new CodeSetFileError(`a ${kind} file needs its ${kind === 'pfs' ? 'calendar year (--label CY2026)' : 'fiscal year (--label FY2028)'}`);
  return new Date().toISOString().slice(0, 10);
}
