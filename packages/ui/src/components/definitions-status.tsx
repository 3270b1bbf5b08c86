import { useState } from 'react';
import { apiPost } from '../api/client.ts';
import type { DefinitionsResponse, LocationLoadError, ReloadResponse } from '../api/types.ts';
import { useApi } from '../api/use-api.ts';
import { ErrorBox } from './common.tsx';

/** `file:line:column`, as much of it as is known. */
export function errorPlace(error: LocationLoadError): string {
  return [error.file, error.line, error.line !== undefined ? error.column : undefined]
    .filter((p) => p !== undefined)
    .join(':');
}

/**
 * Watches the server's definitions: `generation` changes after every reload that changed a
 * code location (the shell remounts its page then), `errors` are locations that no longer load.
 */
export function useDefinitionsStatus() {
  return useApi<DefinitionsResponse>('/api/definitions', 3000);
}

/** "Reload definitions": asks the server to import every code location afresh. */
export function ReloadButton({ onReloaded }: { onReloaded: () => void }) {
  const [busy, setBusy] = useState(false);
  const [failed, setFailed] = useState<unknown>(undefined);
  return (
    <>
      <button
        type="button"
        className="nav-button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          setFailed(undefined);
          apiPost<ReloadResponse>('/api/definitions/reload').then(
            () => {
              setBusy(false);
              onReloaded();
            },
            (error: unknown) => {
              setBusy(false);
              setFailed(error);
            },
          );
        }}
      >
        {busy ? 'Reloading…' : 'Reload definitions'}
      </button>
      {failed ? <ErrorBox error={failed} title="Reload failed" /> : null}
    </>
  );
}

/** One banner per code location whose definitions file no longer loads. */
export function LoadErrorBanner({ errors }: { errors: LocationLoadError[] }) {
  if (errors.length === 0) return null;
  return (
    <div className="load-errors">
      {errors.map((e) => (
        <div key={e.location} className="error-box" role="alert" data-testid="load-error">
          <strong>
            Code location {e.location} failed to load at {errorPlace(e)}; its last good definitions are still
            served.
          </strong>
          <pre>{e.message}</pre>
        </div>
      ))}
    </div>
  );
}
