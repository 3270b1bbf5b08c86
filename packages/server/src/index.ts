/**
 * @dag/server: the HTTP API and web UI server behind `dag dev`, and the launcher that runs
 * each run in its own process. This file is the package's only door.
 */
export type {
  AssetSummary,
  CheckSummary,
  JobSummary,
  JsonSchema,
  LocationSummary,
  ScheduleSummary,
  SensorSummary,
} from './api/describe-definitions.ts';
export { configJsonSchema, describeLocation, runConfigSchema } from './api/describe-definitions.ts';
export { createApp } from './create-app.ts';
export type { DevIo } from './dev-command.ts';
export { registerDev } from './dev-command.ts';
export { ApiError } from './http/api-error.ts';
export { TOKEN_COOKIE, tokensEqual } from './http/token-auth.ts';
export type { AppOptions, Launcher, LaunchRequest } from './interfaces.ts';
export type { RunLauncherOptions } from './run-launcher.ts';
export { RunLauncher } from './run-launcher.ts';
export type { RunningServer, StartServerOptions } from './start-server.ts';
export { checkBinding, isLoopbackAddress, MIN_TOKEN_LENGTH, startServer } from './start-server.ts';
export { DEFAULT_UI_DIR } from './static-ui.ts';
// Scale-out: `dag worker` and the job queue that hands it runs.
export type { WorkerDispatch } from './worker/dispatch.ts';
export { workerDispatch } from './worker/dispatch.ts';
export type { FetchedRun, RunJob } from './worker/run-queue.ts';
export { RunQueue } from './worker/run-queue.ts';
export type { WorkerOptions } from './worker/worker.ts';
export { Worker } from './worker/worker.ts';
