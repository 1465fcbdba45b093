import pino, { type Logger } from 'pino';
import type { LoggerService } from '@nestjs/common';

/**
 * Structured JSON logs. Rule: ids, control numbers, counts and timings only; never names,
 * birth dates, member ids or message text (PHI). Log calls pass objects of such fields.
 */
let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'hl7-claims' } });
  return root;
}

/** Replaces the root logger (tests capture log output this way). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

export function logger(component: string): Logger {
  return rootLogger().child({ component });
}

/** Nest's logger interface on pino, so framework messages are JSON too. */
export class PinoNestLogger implements LoggerService {
  private readonly out = logger('nest');
  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, context?: unknown): void {
    this.out[level]({ context }, typeof message === 'string' ? message : JSON.stringify(message));
  }
  log(message: unknown, context?: unknown): void {
    this.write('info', message, context);
  }
  error(message: unknown, _trace?: unknown, context?: unknown): void {
    this.write('error', message, context);
  }
  warn(message: unknown, context?: unknown): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: unknown): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: unknown): void {
    this.write('trace', message, context);
  }
}
