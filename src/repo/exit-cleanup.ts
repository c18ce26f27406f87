/**
 * Synchronous clean-ups that must run however the process ends: normal exit,
 * an uncaught error, SIGINT, SIGTERM, SIGHUP. (SIGKILL cannot be caught; what
 * it leaves behind is removed later by sweepStaleDebris, stale-debris.ts.)
 *
 * On a signal the clean-ups run, our listener is removed and the signal is
 * raised again, so the process still dies of it with the usual status. A CLI
 * with its own signal handling can call `runExitCleanups()` itself.
 */
const cleanups = new Set<() => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

export function runExitCleanups(): void {
  for (const fn of [...cleanups]) {
    cleanups.delete(fn);
    try {
      fn();
    } catch {
      /* a clean-up must not stop the others */
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runExitCleanups);
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const sig of SIGNALS) {
    const onSignal = (): void => {
      runExitCleanups();
      for (const [s, h] of handlers) process.removeListener(s, h);
      // With no listener left the default action applies: the process dies of the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    handlers.set(sig, onSignal);
    process.on(sig, onSignal);
  }
}

/** Registers a synchronous clean-up; returns a function that unregisters it. */
export function onExitCleanup(fn: () => void): () => void {
  install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}
