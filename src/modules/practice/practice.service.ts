import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { logger } from '../../common/logger';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config';
import { PracticeRepository, type AppliedSetup } from './practice.repository';
import { readPracticeSetup } from './practice.setup';

/** The example setup shipped in fixtures/, used by the embedded default when PRACTICE_FILE is unset. */
export const EXAMPLE_PRACTICE_FILE = join(__dirname, '..', '..', '..', 'fixtures', 'practice', 'example.yaml');

/** Where the setup comes from: PRACTICE_FILE, else (embedded database only) the bundled example. */
export function practiceFileOf(config: AppConfig): string | undefined {
  if (config.PRACTICE_FILE !== undefined) return config.PRACTICE_FILE;
  return config.DATABASE_URL === undefined && existsSync(EXAMPLE_PRACTICE_FILE) ? EXAMPLE_PRACTICE_FILE : undefined;
}

/**
 * Loads the practice setup at start: a file that does not validate stops the service with every
 * problem listed (claims built on a half-read setup would be wrong). Without a file, claims cannot
 * be built and say so.
 */
@Injectable()
export class PracticeService implements OnApplicationBootstrap {
  private readonly log = logger('practice');
  private loaded: { file: string; applied: AppliedSetup } | undefined;

  constructor(
    private readonly repository: PracticeRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const file = practiceFileOf(this.config);
    if (file === undefined) {
      this.log.warn({ event: 'practice_setup_missing', hint: 'set PRACTICE_FILE to build claims' });
      return;
    }
    await this.load(file);
  }

  async load(file: string): Promise<AppliedSetup> {
    const setup = readPracticeSetup(file);
    const applied = await this.repository.apply(setup);
    this.loaded = { file, applied };
    this.log.info({ event: 'practice_setup_loaded', file, ...applied });
    return applied;
  }

  get status(): { file: string; applied: AppliedSetup } | undefined {
    return this.loaded;
  }
}
