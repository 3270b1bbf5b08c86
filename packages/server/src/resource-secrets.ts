import { registerSecret, type Workspace } from '@dag/core';

/**
 * Secret values of every resource's environment bindings are known to the redactor before
 * the first request, not only once a run has resolved the resource's config.
 */
export function registerResourceSecrets(workspace: Workspace, env: NodeJS.ProcessEnv = process.env): void {
  for (const location of workspace.locations) {
    for (const resource of location.definitions.resources.values()) {
      for (const binding of Object.values(resource.env)) {
        if (binding.secret) registerSecret(env[binding.env]);
      }
    }
  }
}
