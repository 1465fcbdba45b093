import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown => (typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value);
const emptyToUndefined = ({ value }: { value: unknown }): unknown => (value === '' ? undefined : value);

/**
 * Every setting, read from the environment and validated at boot (class-validator): a bad
 * value stops the service with a sentence naming the variable, before anything listens.
 */
export class AppConfig {
  /** postgres://user:pass@host:port/db; when unset, an embedded PostgreSQL (PGlite) under DATA_DIR is used. */
  @IsOptional() @Transform(emptyToUndefined) @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must start with postgres:// or postgresql://' })
  DATABASE_URL?: string;

  @IsString() DATA_DIR = './data';

  @Transform(toInt) @IsInt() @Min(0) @Max(65535) MLLP_PORT = 2575;
  @IsString() MLLP_HOST = '127.0.0.1';
  @Transform(toInt) @IsInt() @Min(1) @Max(100000) MLLP_MAX_CONNECTIONS = 512;
  /** Close a connection after this long without a byte (0 = never). */
  @Transform(toInt) @IsInt() @Min(0) MLLP_IDLE_TIMEOUT_MS = 600_000;
  @Transform(toInt) @IsInt() @Min(1024) MLLP_MAX_FRAME_BYTES = 1024 * 1024;
  @IsIn(['utf-8', 'iso-8859-1', 'windows-1252'], { message: 'MLLP_CHARSET must be utf-8, iso-8859-1 or windows-1252' })
  MLLP_CHARSET: 'utf-8' | 'iso-8859-1' | 'windows-1252' = 'utf-8';
  /** `strict`: a message without MSH-11 (processing id) is answered AR; `lenient` (default): taken as P with a warning. */
  @IsIn(['lenient', 'strict'], { message: 'MLLP_HEADER_CHECKS must be lenient or strict' })
  MLLP_HEADER_CHECKS: 'lenient' | 'strict' = 'lenient';
  @IsOptional() @Transform(emptyToUndefined) @IsString() MLLP_TLS_CERT?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() MLLP_TLS_KEY?: string;
  /** Comma-separated addresses or CIDR blocks allowed to connect; empty = everyone. */
  @IsOptional() @Transform(emptyToUndefined) @Matches(/^[0-9a-fA-F:.,/\s]+$/, { message: 'MLLP_ALLOW must be a comma-separated list of IP addresses or CIDR blocks' })
  MLLP_ALLOW?: string;

  @Transform(toInt) @IsInt() @Min(0) @Max(65535) HTTP_PORT = 3000;
  /** A separate port serving GET /metrics without a token (for a Prometheus scraper on a private network); unset: only /metrics on HTTP_PORT with the bearer token. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(0) @Max(65535) METRICS_PORT?: number;
  @IsOptional() @Transform(emptyToUndefined) @IsString() METRICS_HOST?: string;
  @IsString() HTTP_HOST = '127.0.0.1';
  @IsOptional() @Transform(emptyToUndefined) @IsString() @Matches(/^\S{16,}$/, { message: 'API_TOKEN must be at least 16 characters without spaces' })
  API_TOKEN?: string;

  /** HTTPS for the API and the staff app: PEM certificate and key files (both or neither). Session cookies are then Secure. */
  @IsOptional() @Transform(emptyToUndefined) @IsString() HTTP_TLS_CERT?: string;
  @IsOptional() @Transform(emptyToUndefined) @IsString() HTTP_TLS_KEY?: string;
  /** API requests one caller (a token, a session, else an address) may make a minute, across all instances; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000) RATE_LIMIT_API_PER_MINUTE = 1200;
  /** Sign-in attempts one client address may make in 15 minutes, across all instances (then 429 for 15 minutes); 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1_000_000) RATE_LIMIT_SIGNIN_PER_15_MINUTES = 30;
  /** Longest a client may take to send a whole request (headers: at most 20 s of it); slower ones are cut off with 408. */
  @Transform(toInt) @IsInt() @Min(5) @Max(3600) HTTP_REQUEST_TIMEOUT_SECONDS = 300;
  /** A staff session ends after this many minutes without a request... */
  @Transform(toInt) @IsInt() @Min(1) @Max(24 * 60) SESSION_IDLE_MINUTES = 30;
  /** ...and this many hours after sign-in in any case. */
  @Transform(toInt) @IsInt() @Min(1) @Max(24 * 14) SESSION_MAX_HOURS = 12;

  @Transform(toInt) @IsInt() @Min(1) @Max(200) DB_POOL_SIZE = 10;
  /** Most messages committed in one intake transaction (group commit). */
  @Transform(toInt) @IsInt() @Min(1) @Max(5000) INTAKE_BATCH_MAX = 256;
  /** Intake transactions in flight at once per instance. */
  @Transform(toInt) @IsInt() @Min(1) @Max(32) INTAKE_CONCURRENCY = 2;
  /** Messages waiting that start another group beside one in flight (see GroupCommitter). */
  @Transform(toInt) @IsInt() @Min(1) @Max(5000) INTAKE_FILL_BATCH = 8;
  /** Longest a message waits for INTAKE_FILL_BATCH while a group is in flight, in ms. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000) INTAKE_FILL_WAIT_MS = 2;

  /** Run the submission job (build, batch, deliver, fetch responses) every N seconds; 0 = only on demand. */
  @Transform(toInt) @IsInt() @Min(0) @Max(86_400) SUBMISSION_INTERVAL_SECONDS = 0;
  /** The largest write-off a biller may post on one work item (decimal); admins have no limit unless WRITE_OFF_LIMIT_ADMIN is set. */
  @Matches(/^\d{1,10}(\.\d{1,2})?$/, { message: 'WRITE_OFF_LIMIT_BILLER must be an amount such as 500.00' }) WRITE_OFF_LIMIT_BILLER = '500.00';
  @IsOptional() @Transform(emptyToUndefined) @Matches(/^\d{1,10}(\.\d{1,2})?$/, { message: 'WRITE_OFF_LIMIT_ADMIN must be an amount such as 5000.00' }) WRITE_OFF_LIMIT_ADMIN?: string;
  /** Open no-response work items (claims sent and not answered within the payer's days) every N minutes; 0 = only on demand. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10_080) WORK_SWEEP_MINUTES = 60;
  /** The job builds claims for discharged encounters and for encounters without new charges for this long. */
  @Transform(toInt) @IsInt() @Min(0) CLAIMS_SETTLED_MINUTES = 1440;
  /**
   * The date the scrubber judges claims as of (timely filing), YYYY-MM-DD; today when unset. For
   * re-running a past day's scrub, demonstrations and tests on dated fixtures.
   */
  @IsOptional() @Transform(emptyToUndefined) @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'SCRUB_AS_OF must be a date YYYY-MM-DD' })
  SCRUB_AS_OF?: string;
  /** Practice setup file (YAML or JSON): billing providers, clearinghouses, payers, facilities, chargemaster. */
  @IsOptional() @Transform(emptyToUndefined) @IsString() PRACTICE_FILE?: string;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) LOG_LEVEL = 'info';
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const KEYS = Object.keys(new AppConfig()).concat(['DATABASE_URL', 'MLLP_TLS_CERT', 'MLLP_TLS_KEY', 'MLLP_ALLOW', 'API_TOKEN', 'PRACTICE_FILE', 'HTTP_TLS_CERT', 'HTTP_TLS_KEY', 'WRITE_OFF_LIMIT_ADMIN', 'METRICS_PORT', 'METRICS_HOST']);

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const plain: Record<string, unknown> = {};
  for (const k of KEYS) if (env[k] !== undefined) plain[k] = env[k];
  Object.assign(plain, overrides);
  const config = plainToInstance(AppConfig, plain, { exposeDefaultValues: true });
  const errors = validateSync(config, { forbidUnknownValues: false });
  const problems = errors.flatMap((e) => Object.values(e.constraints ?? {}).map((m) => (m.includes(e.property) ? m : `${e.property}: ${m}`)));
  if ((config.MLLP_TLS_CERT === undefined) !== (config.MLLP_TLS_KEY === undefined)) {
    problems.push('MLLP_TLS_CERT and MLLP_TLS_KEY must be set together');
  }
  if ((config.HTTP_TLS_CERT === undefined) !== (config.HTTP_TLS_KEY === undefined)) {
    problems.push('HTTP_TLS_CERT and HTTP_TLS_KEY must be set together');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
