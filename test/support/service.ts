import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';
import { startService, type RunningService } from '../../src/service';

/**
 * The date the scrubber judges claims as of in the suites: the fixture feeds' services are in
 * January 2024, and timely filing must not depend on the day the tests run.
 */
export const SCRUB_TODAY = '2024-01-10';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** The real service (HTTP + MLLP on ephemeral ports) against the given database, with the example practice setup. */
export async function startTestService(databaseUrl: string, overrides: Partial<AppConfig> = {}): Promise<RunningService & { config: AppConfig }> {
  const config = loadConfig(
    { DATABASE_URL: databaseUrl, MLLP_PORT: '0', HTTP_PORT: '0', API_TOKEN: TEST_TOKEN, DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-')), DB_POOL_SIZE: '8', PRACTICE_FILE: EXAMPLE_PRACTICE_FILE, SCRUB_AS_OF: SCRUB_TODAY,
      // The suites sign in and call the API far more often than people do; test/rate-limit.int-spec.ts sets the limits it tests.
      RATE_LIMIT_API_PER_MINUTE: '1000000', RATE_LIMIT_SIGNIN_PER_15_MINUTES: '1000000' },
    overrides,
  );
  const svc = await startService(config);
  return Object.assign(svc, { config });
}
