import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AppConfig } from '../config/config';
import { logger } from './logger';

/** API_TOKEN, or the token kept in DATA_DIR/api-token (generated on first start; its path is logged, never the token). */
export function resolveApiToken(config: AppConfig): string {
  if (config.API_TOKEN !== undefined) return config.API_TOKEN;
  const dir = resolve(config.DATA_DIR);
  const file = resolve(dir, 'api-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  logger('auth').info({ event: 'api_token_generated', file });
  return token;
}
