import { registerSecret } from '@dag/core';
import { Hono } from 'hono';
import { assetHistoryApi } from './api/asset-history-api.ts';
import { assetsApi } from './api/assets-api.ts';
import { definitionsApi } from './api/definitions-api.ts';
import { filesApi } from './api/files-api.ts';
import { healthApi } from './api/health-api.ts';
import { instanceApi } from './api/instance-api.ts';
import { partitionsApi } from './api/partitions-api.ts';
import { runsApi } from './api/runs-api.ts';
import { errorResponse } from './http/api-error.ts';
import { sendJson } from './http/json-response.ts';
import { bodyCap, maxBodyBytesFromEnv, refuseNul } from './http/request-input.ts';
import { requestGuard, tokenAuth } from './http/token-auth.ts';
import type { AppOptions } from './interfaces.ts';
import { staticUi } from './static-ui.ts';

/**
 * The `dag dev` application: the JSON API under `/api` (documented in docs/api.md) and the
 * UI's static files. Call it in-process with `app.request(...)` or serve it with `startServer`.
 *
 * @example
 * const app = createApp({ workspace, instance, launcher: new RunLauncher({ workspace, instance }) });
 * const res = await app.request('http://localhost/api/assets');
 */
export function createApp(options: AppOptions): Hono {
  if (options.token !== undefined) registerSecret(options.token);
  const app = new Hono();

  app.onError((error, c) => {
    const { status, body } = errorResponse(error);
    return sendJson(c, body, status);
  });
  app.notFound((c) =>
    sendJson(c, { error: { name: 'NotFound', message: `No route for ${c.req.method} ${c.req.path}.` } }, 404),
  );

  // Health probes come before the guards: supervisors call them without the token.
  app.route('/', healthApi(options));
  app.use('*', requestGuard({ loopbackOnly: options.token === undefined }));
  app.use('*', tokenAuth(options.token));
  app.use('/api/*', refuseNul());
  app.use('/api/*', bodyCap(options.maxBodyBytes ?? maxBodyBytesFromEnv()));

  const api = new Hono();
  api.route('/', definitionsApi(options));
  api.route('/', assetsApi(options));
  api.route('/', assetHistoryApi(options));
  api.route('/', runsApi(options));
  api.route('/', instanceApi(options));
  api.route('/', filesApi(options));
  api.route('/', partitionsApi(options));
  app.route('/api', api);
  app.all('/api/*', (c) =>
    sendJson(
      c,
      { error: { name: 'NotFound', message: `No API route for ${c.req.method} ${c.req.path}.` } },
      404,
    ),
  );

  app.get('*', staticUi(options.uiDir));
  return app;
}
