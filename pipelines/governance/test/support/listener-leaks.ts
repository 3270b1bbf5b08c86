/**
 * Node's "possible EventTarget memory leak" warnings (MaxListenersExceededWarning) emitted from
 * now until `stop()`, which returns their messages. Node emits a warning on a later turn of the
 * event loop than the listener that set it off.
 */
export function watchListenerLeaks(): { stop(): string[] } {
  const leaks: string[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning') leaks.push(warning.message);
  };
  process.on('warning', onWarning);
  return {
    stop() {
      process.off('warning', onWarning);
      return leaks;
    },
  };
}
