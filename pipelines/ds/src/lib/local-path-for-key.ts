import path from 'node:path';
import { validateObjectKey } from '@dag/object-store';

/**
 * The local file an object key maps to inside `dir`, or an Error saying why the key cannot be
 * used. Keys with `..` segments, absolute paths, backslashes or drive letters never reach the
 * file system: a hostile bucket cannot write outside the folder.
 */
export function localPathForKey(dir: string, key: string): string | Error {
  try {
    validateObjectKey(key);
  } catch (error) {
    return new Error(`unsafe object key ${JSON.stringify(key)}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const root = path.resolve(dir);
  const target = path.resolve(root, ...key.split('/'));
  if (!target.startsWith(root + path.sep)) {
    return new Error(`unsafe object key ${JSON.stringify(key)}: it resolves outside ${root}`);
  }
  if (key.split('/').some((segment) => segment.startsWith('.'))) {
    return new Error(
      `unsupported object key ${JSON.stringify(key)}: a segment starts with "." (hidden files are the pipeline's own state); rename the object`,
    );
  }
  return target;
}
