import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig } from './config';

export const APP_CONFIG = Symbol('APP_CONFIG');
/** 'service' (the long-running server) or 'cli' (one command): what to load ahead of use. */
export const PROCESS_ROLE = Symbol('PROCESS_ROLE');
export type ProcessRole = 'service' | 'cli';

/** Provides the validated configuration (loaded once, before Nest starts). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig, role: ProcessRole = 'service'): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: APP_CONFIG, useValue: config }, { provide: PROCESS_ROLE, useValue: role }], exports: [APP_CONFIG, PROCESS_ROLE] };
  }
}
