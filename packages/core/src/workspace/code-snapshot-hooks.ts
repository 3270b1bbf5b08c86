/**
 * Module hooks of a run process started by `dag dev`: modules of the code locations are
 * loaded from the snapshot the server took when it last loaded them successfully, not from
 * disk, so a run executes the very definitions the server validated it against, even while
 * a file on disk is half-edited or broken. Other modules load as usual.
 */
import { fileURLToPath } from 'node:url';

let files = new Map<string, string>();

export function initialize(data: { files?: Record<string, string> } | undefined): void {
  files = new Map(Object.entries(data?.files ?? {}));
}

type Loaded = { format?: string | null; source?: unknown; shortCircuit?: boolean };

export async function load(
  url: string,
  context: unknown,
  nextLoad: (url: string, context: unknown) => Promise<Loaded>,
): Promise<Loaded> {
  if (url.startsWith('file:')) {
    const parsed = new URL(url);
    parsed.search = '';
    const source = files.get(fileURLToPath(parsed));
    if (source !== undefined) return { format: 'module', source, shortCircuit: true };
  }
  return nextLoad(url, context);
}
