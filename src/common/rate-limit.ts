import { createHash } from 'node:crypto';
import { Inject, Injectable, type ExecutionContext, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { ApiErrorCode, ApiException } from './api.exception';
import { IntervalJob } from './interval-job';
import { logger } from './logger';
import { isPublicPath } from './openapi';

/** What the throttler's storage answers (the package does not export the type by name). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('base64url');

/**
 * @nestjs/throttler's storage in PostgreSQL, so that every instance counts against the same
 * limit (a counter in one process would let N instances allow N times the limit). A fixed window
 * per key: the first hit opens it for `ttl` ms; a hit over `limit` blocks the key for
 * `blockDuration` ms, or until the window ends when that is 0. One upsert per request.
 */
export class PgThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly dataSource: DataSource) {}

  private readonly log = logger('rate-limit');

  /**
   * Counts a hit. When the database cannot be reached the hit is let through (logged): the
   * request then fails or succeeds as it would without a limit (a health check answers 503, not
   * a limiter's 500).
   */
  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    try {
      return await this.count(key, ttl, limit, blockDuration, throttlerName);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      this.log.warn({ event: 'rate_limit_unavailable', throttler: throttlerName, err: e instanceof Error ? e.name : 'unknown', code: typeof code === 'string' ? code : undefined });
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }

  private async count(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const [r] = await this.dataSource.query<{ hits: number; expires_in: string; blocked_for: string | null }[]>(
      `WITH v AS (SELECT now() + $2 * interval '1 millisecond' AS window_ends, $3::int AS lim, $4 * interval '1 millisecond' AS block)
       INSERT INTO rate_limit AS r (key, window_ends, hits, blocked_until)
       SELECT $1, v.window_ends, 1, CASE WHEN 1 > v.lim THEN GREATEST(v.window_ends, now() + v.block) END FROM v
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.window_ends <= now() OR r.blocked_until <= now() THEN 1 ELSE r.hits + 1 END,
         window_ends = CASE WHEN r.window_ends <= now() OR r.blocked_until <= now() THEN excluded.window_ends ELSE r.window_ends END,
         blocked_until = CASE WHEN r.blocked_until > now() THEN r.blocked_until
                              WHEN (CASE WHEN r.window_ends <= now() OR r.blocked_until <= now() THEN 1 ELSE r.hits + 1 END) > (SELECT lim FROM v)
                                THEN GREATEST(CASE WHEN r.window_ends <= now() OR r.blocked_until <= now() THEN excluded.window_ends ELSE r.window_ends END, now() + (SELECT block FROM v))
                         END
       RETURNING hits, extract(epoch FROM window_ends - now())::text AS expires_in, extract(epoch FROM blocked_until - now())::text AS blocked_for`,
      [`${throttlerName}:${key}`, ttl, limit, blockDuration],
    );
    if (r === undefined) throw new Error('rate_limit upsert returned no row');
    const blockedFor = r.blocked_for === null ? 0 : Math.ceil(Number(r.blocked_for));
    return { totalHits: r.hits, timeToExpire: Math.max(0, Math.ceil(Number(r.expires_in))), isBlocked: blockedFor > 0, timeToBlockExpire: Math.max(0, blockedFor) };
  }

  /** Drops windows long over (a sweep; any instance may run it, it is idempotent). */
  async sweep(): Promise<number> {
    const rows = await this.dataSource.query<unknown[]>(`DELETE FROM rate_limit WHERE window_ends < now() - interval '1 hour' AND (blocked_until IS NULL OR blocked_until < now()) RETURNING 1`);
    return rows.length;
  }
}

/**
 * Who a request counts against: its bearer token, else its staff session, else its client
 * address. Only a hash is kept in the table.
 */
export function apiCaller(req: Request): string {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+\S+/i.test(auth)) return `bearer:${sha256(auth.replace(/^Bearer\s+/i, ''))}`;
  const cookie = req.headers.cookie;
  const session = typeof cookie === 'string' ? /(?:^|;\s*)hl7c_session=([^;]+)/.exec(cookie)?.[1] : undefined;
  if (session !== undefined) return `session:${sha256(session)}`;
  return `ip:${sha256(req.socket.remoteAddress ?? 'unknown')}`;
}

/**
 * The API's rate limit (the `default` throttler, so the headers are the usual X-RateLimit-* and
 * Retry-After): every /api route but the health checks, per caller, across instances. Over the
 * limit: 429 `rate_limited` until the window ends.
 */
@Injectable()
export class ApiRateLimitGuard extends ThrottlerGuard {
  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return Promise.resolve(true);
    const path = context.switchToHttp().getRequest<Request>().path;
    return Promise.resolve(!path.startsWith('/api/') || isPublicPath(path));
  }

  protected override getTracker(req: Record<string, unknown>): Promise<string> {
    return Promise.resolve(apiCaller(req as unknown as Request));
  }

  /** One counter per caller for the whole API (the package's default is one per route); the storage puts the throttler's name before it. */
  protected override generateKey(_context: ExecutionContext, tracker: string): string {
    return tracker;
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new ApiException(ApiErrorCode.TooManyRequests, `too many requests: at most ${detail.limit} a minute for each caller; try again in ${detail.timeToBlockExpire} s`);
  }
}

/**
 * Sign-in attempts per client address, across instances: RATE_LIMIT_SIGNIN_PER_15_MINUTES, then
 * refused for 15 minutes (on top of each account's own lockout after failed passwords, this
 * bounds guessing across many accounts and unknown addresses, and the password hashing it costs).
 */
@Injectable()
export class SignInRateLimit implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly storage: PgThrottlerStorage;
  private readonly sweeper: IntervalJob;

  constructor(dataSource: DataSource, @Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.storage = new PgThrottlerStorage(dataSource);
    this.sweeper = new IntervalJob('rate_limit_sweep', logger('rate-limit'), () => this.storage.sweep());
  }

  onApplicationBootstrap(): void {
    this.sweeper.start(10 * 60_000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.sweeper.stop();
  }

  /** 0 when this attempt may go ahead, else the seconds the address must wait. */
  async attempt(ip: string | null): Promise<number> {
    const limit = this.config.RATE_LIMIT_SIGNIN_PER_15_MINUTES;
    if (limit === 0) return 0;
    const window = 15 * 60_000;
    const r = await this.storage.increment(`ip:${sha256(ip ?? 'unknown')}`, window, limit, window, 'signin');
    return r.isBlocked ? Math.max(1, r.timeToBlockExpire) : 0;
  }
}
