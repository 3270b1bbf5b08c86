import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'hono';

/** The UI's build output in this repository. */
export const DEFAULT_UI_DIR = path.resolve(import.meta.dirname, '../../ui/dist');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

function notBuiltPage(uiDir: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dag dev</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>dag dev is running</h1>
<p>The API answers under <a href="/api/definitions">/api</a>, but the web UI is not built
(no <code>index.html</code> in <code>${uiDir.replace(/[<>&]/g, '')}</code>).</p>
<p>Build it from the repository root, then reload this page:</p>
<pre>npm run build -w @dag/ui</pre>
</body></html>`;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves the built UI: files under `uiDir`, and `index.html` for every other path without a
 * file extension (client-side routes such as /runs/<id>). Paths never leave `uiDir`.
 */
export function staticUi(uiDir: string = DEFAULT_UI_DIR) {
  let root: Promise<string> | undefined;
  const uiRoot = () => {
    root ??= realpath(uiDir).catch(() => path.resolve(uiDir));
    return root;
  };
  return async (c: Context): Promise<Response> => {
    const base = await uiRoot();
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(c.req.url).pathname);
    } catch {
      return c.text('Bad path', 400);
    }
    const file = path.join(base, path.normalize(pathname));
    const inside = file === base || file.startsWith(base + path.sep);
    if (inside && pathname !== '/' && (await isFile(file))) {
      // A symlink inside the build must not lead out of it.
      const real = await realpath(file);
      if (real.startsWith(base + path.sep)) {
        const hashed = pathname.startsWith('/assets/');
        return c.body(await readFile(real), 200, {
          ...COMMON_HEADERS,
          'Content-Type': CONTENT_TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream',
          'Cache-Control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    }
    if (path.extname(pathname) !== '') return c.text('Not found', 404);
    const index = path.join(base, 'index.html');
    if (!(await isFile(index))) return c.html(notBuiltPage(uiDir), 200, COMMON_HEADERS);
    return c.body(await readFile(index), 200, {
      ...COMMON_HEADERS,
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-cache',
    });
  };
}
