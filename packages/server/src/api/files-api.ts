import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { ApiError, badRequest, notFound } from '../http/api-error.ts';
import type { AppOptions } from '../interfaces.ts';

export const IMAGE_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
};

/** Largest image served; previews are thumbnails, not data transfers. */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** The folders `/api/files` serves from: the workspace folder (or `fileRoots`) and DAG_HOME. */
export function fileRootsOf(options: AppOptions): string[] {
  const source = options.workspace.source;
  const workspaceRoot = /\.ya?ml$/i.test(source) ? path.dirname(source) : process.cwd();
  return [...(options.fileRoots ?? [workspaceRoot]), options.instance.home];
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/**
 * `GET /api/files?path=<absolute path>`: an image file for metadata previews (`md.images`
 * with local paths). Served only when its real path (symlinks resolved) lies inside an
 * allowed root and it is a png, webp, jpg, gif or svg file; anything else is 403 or 404.
 */
export function filesApi(options: AppOptions): Hono {
  const api = new Hono();
  // Each root as configured and as its real path (a root may itself be reached by a symlink).
  let roots: Promise<string[]> | undefined;
  const allowedRoots = () => {
    roots ??= Promise.all(
      fileRootsOf(options).map(async (r) => [
        path.resolve(r),
        await realpath(r).catch(() => path.resolve(r)),
      ]),
    ).then((pairs) => [...new Set(pairs.flat())]);
    return roots;
  };

  api.get('/files', async (c) => {
    const requested = c.req.query('path');
    if (!requested) throw badRequest(`Give the file as ?path=<absolute path>.`);
    if (!path.isAbsolute(requested) || requested.includes('\0')) {
      throw badRequest(`'path' must be an absolute file path, got '${requested}'.`);
    }
    const forbidden = new ApiError(
      403,
      'Forbidden',
      `Only image files (${Object.keys(IMAGE_TYPES).join(', ')}) inside the workspace folder or DAG_HOME are served.`,
    );
    // The roots are checked before the file system is looked at: a path outside them gets
    // the same answer whether or not it exists, so the API cannot probe the machine.
    const inRoots = async (file: string) => (await allowedRoots()).some((root) => isInside(root, file));
    if (!(await inRoots(path.resolve(requested)))) throw forbidden;
    let real: string;
    try {
      real = await realpath(requested);
    } catch {
      throw notFound(`No such file: ${requested}`);
    }
    // Again on the real path: a symlink inside a root must not lead out of it.
    if (!(await inRoots(real))) throw forbidden;
    const type = IMAGE_TYPES[path.extname(real).toLowerCase()];
    if (!type) throw forbidden;
    const info = await stat(real);
    if (!info.isFile()) throw notFound(`Not a file: ${requested}`);
    if (info.size > MAX_IMAGE_BYTES)
      throw new ApiError(413, 'TooLarge', `${requested} is larger than 20 MB.`);
    const body = await readFile(real);
    return c.body(body, 200, {
      'Content-Type': type,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-cache',
      // An SVG opened directly must not run scripts in the UI's origin.
      'Content-Security-Policy':
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
    });
  });

  return api;
}
