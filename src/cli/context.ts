import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { PinoNestLogger } from '../common/logger';
import type { AppConfig } from '../config/config';
import { openDatabase } from '../database/database';

/** Exit codes, documented in the usage text and the README. */
export const EXIT = { done: 0, failed: 1, usage: 2, database: 3 } as const;

/** What every command gets: the configuration, whether to answer in JSON, and the service's modules on demand. */
export interface CliContext {
  config: AppConfig;
  json: boolean;
  /** The result: with --json one JSON document on stdout (nothing else goes there), else the text. */
  out: (value: unknown, text: string) => void;
  /** A usage mistake: says what the command needs on stderr, exit 2. */
  usage: (text: string) => number;
  /** Runs fn with the service's modules on the database (opened and closed around it). */
  withApp: <T>(fn: (app: INestApplicationContext) => Promise<T>) => Promise<T>;
}

export type Command = (ctx: CliContext, sub: string | undefined, rest: string[]) => Promise<number>;

export async function withApp<T>(config: AppConfig, fn: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    const app = await NestFactory.createApplicationContext(AppModule.forRoot(config, db.dataSource, 'cli-has-no-http', 'cli'), { logger: new PinoNestLogger(), abortOnError: false });
    try {
      return await fn(app);
    } finally {
      await app.close();
    }
  } finally {
    await db.close();
  }
}

export function contextOf(config: AppConfig, json: boolean): CliContext {
  return {
    config,
    json,
    out: (value, text) => {
      process.stdout.write(json ? JSON.stringify(value) + '\n' : text + '\n');
    },
    usage: (text) => {
      process.stderr.write(text + '\n');
      return EXIT.usage;
    },
    withApp: (fn) => withApp(config, fn),
  };
}

/** The value after a flag (`--out DIR`), or undefined. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}
