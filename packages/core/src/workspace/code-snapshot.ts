/**
 * A preload (`node --import`) for run processes: when DAG_CODE_SNAPSHOT names a snapshot
 * file (written by the `dag dev` launcher), the code locations' modules load from it. See
 * code-snapshot-hooks.ts. Without the variable it does nothing.
 */
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { siblingModule } from '../util/module-url.ts';

const snapshot = process.env.DAG_CODE_SNAPSHOT;
if (snapshot) {
  const { files } = JSON.parse(readFileSync(snapshot, 'utf8')) as { files: Record<string, string> };
  register(siblingModule('./code-snapshot-hooks.ts', import.meta.url), {
    parentURL: import.meta.url,
    data: { files },
  });
}
