/** A held processing lock (see `AppStore.claimProcessing`); `release()` gives it back (idempotent). */
export interface ProcessLock {
  release(): Promise<void>;
}
