import { DockerRunLauncher, dockerLauncherFromEnv, type ExecutingLauncher } from './docker-run-launcher.ts';
import { RunLauncher, type RunLauncherOptions } from './run-launcher.ts';

/**
 * The run launcher the environment selects: a child process per run (the default,
 * `RunLauncher`), or a container per run with DAG_RUN_LAUNCHER=docker (`DockerRunLauncher`;
 * its settings are read by `dockerLauncherFromEnv`). Throws a UsageError naming the variable
 * when the settings are incomplete.
 */
export function createRunLauncher(
  options: RunLauncherOptions,
  env: NodeJS.ProcessEnv = process.env,
): ExecutingLauncher {
  const docker = dockerLauncherFromEnv(env);
  if (!docker) return new RunLauncher(options);
  const { instance, workspace, graceMs, queue, liveness, log } = options;
  return new DockerRunLauncher({
    instance,
    workspace,
    ...docker,
    env,
    ...(graceMs !== undefined ? { graceMs } : {}),
    ...(queue ? { queue } : {}),
    ...(liveness ? { liveness } : {}),
    ...(log ? { log } : {}),
  });
}
