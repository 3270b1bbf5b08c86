import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { registerSecretsFromEnv, UsageError } from '@dag/core';

/**
 * Loads `.env` from the working directory into process.env, as `dagster dev` does: variables
 * already set in the environment win. Parsed by Node's own `util.parseEnv` (quotes, `#`
 * comments, `export` prefixes, empty values). Secret-looking values it brings are registered
 * with the redactor at once, whatever the command. Returns the names it set.
 */
export function loadDotEnv(dir: string = process.cwd()): string[] {
  const file = path.join(dir, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const loaded: string[] = [];
  const values = parseEnv(text) as Record<string, string>;
  for (const [name, value] of Object.entries(values)) {
    if (process.env[name] !== undefined) continue;
    process.env[name] = value;
    loaded.push(name);
  }
  registerSecretsFromEnv(Object.fromEntries(loaded.map((name) => [name, values[name]])));
  return loaded;
}
