import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';

/** The example practice with its clearinghouse delivering through `delivery`, changed by `edit`, written into `dir`. */
export function practiceWith(delivery: Record<string, unknown>, dir: string, edit?: (setup: any) => void): string {
  const setup = parse(readFileSync(EXAMPLE_PRACTICE_FILE, 'utf8')) as { clearinghouses: { delivery: unknown }[] };
  (setup.clearinghouses[0] as { delivery: unknown }).delivery = delivery;
  edit?.(setup);
  const file = join(dir, 'practice.yaml');
  writeFileSync(file, stringify(setup));
  return file;
}
