/**
 * Terminology of the server (the core's words are defined in @dag/core's types.ts):
 *
 * - app: the Hono application: the JSON API under `/api`, the UI's static files under `/`.
 * - launcher: starts each run of `dag dev` in its own child process (a "run process") and
 *   terminates it, killing the run's whole process tree when it does not stop in time.
 * - run process: `dag execute-run <runId>` in its own process group; its stdout and stderr
 *   are appended to `<DAG_HOME>/logs/<runId>.log`.
 * - token: the shared secret (`DAG_UI_TOKEN`) every request must carry when one is set, as
 *   `Authorization: Bearer <token>` or the `dag_token` cookie.
 */
import type { CodeLocation, DagInstance, RunConfig, RunRecord, TerminateOutcome, Workspace } from '@dag/core';

/** What the API asks a launcher to start: a validated, stored and then executed run. */
export interface LaunchRequest {
  location: CodeLocation;
  job?: string;
  selection?: string;
  runConfig?: RunConfig;
  tags?: Record<string, string>;
  parentRunId?: string;
  rootRunId?: string;
  /** Only these steps run (re-execution from failure). */
  stepKeys?: string[];
}

/**
 * Starts and terminates runs for the API. `launch` validates and stores the run before it
 * resolves (invalid input rejects with a DagError and stores nothing), then queues it (the
 * daemon's run queue starts it within the run limits) or starts it at once.
 */
export interface Launcher {
  launch(request: LaunchRequest): Promise<RunRecord>;
  /**
   * Terminates a run (see `terminateRun` of @dag/core): a queued one is CANCELED at once, a
   * running one becomes CANCELING and is stopped; one that does not stop within the grace
   * period has its process tree killed. The outcome says which, or that it had finished.
   */
  terminate(runId: string): Promise<TerminateOutcome>;
  /** Where the raw stdout/stderr of a run's process is written (it may not exist). */
  logFile(runId: string): string;
  /** Stops every run this launcher started (terminate, then kill) and waits for them. */
  close(): Promise<void>;
}

export interface AppOptions {
  workspace: Workspace;
  instance: DagInstance;
  launcher: Launcher;
  /** The built UI (index.html and assets). Default: packages/ui/dist of this repository. */
  uiDir?: string;
  /** When set, every request must carry it (header or cookie). */
  token?: string;
  /**
   * Folders whose image files `/api/files` may serve, besides DAG_HOME. Default: the folder
   * of workspace.yaml, or the working directory when a single definitions file was loaded.
   */
  fileRoots?: string[];
  /** Largest request body read, in bytes. Default: DAG_API_MAX_BODY_BYTES, else 1 MB. */
  maxBodyBytes?: number;
  /** How often the event stream polls storage for new events. Default 200 ms. */
  streamPollMs?: number;
  /** How often the event stream sends a heartbeat comment. Default 15 s. */
  heartbeatMs?: number;
}
