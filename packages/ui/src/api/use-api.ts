import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, apiGet } from './client.ts';

export interface ApiState<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** Fetches again, keeping the current data on screen meanwhile. */
  reload: () => void;
}

/**
 * GETs `path` (JSON) and refetches when it changes; `pollMs` refetches on a timer while the
 * page is visible. A null path fetches nothing. `load` replaces the plain GET (it may resolve
 * to the very object it resolved to before, when nothing changed: nothing re-renders then).
 */
export function useApi<T>(
  path: string | null,
  pollMs?: number,
  load: (path: string, signal: AbortSignal) => Promise<T> = apiGet<T>,
): ApiState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const lastPath = useRef<string | null>(null);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick triggers a refetch on purpose
  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    const controller = new AbortController();
    if (lastPath.current !== path) {
      // A different resource: do not show the previous one's data meanwhile.
      setData(undefined);
      lastPath.current = path;
    }
    setLoading(true);
    load(path, controller.signal).then(
      (value) => {
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, tick, load]);

  useEffect(() => {
    if (!pollMs || path === null) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((t) => t + 1);
    }, pollMs);
    return () => clearInterval(timer);
  }, [pollMs, path]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
