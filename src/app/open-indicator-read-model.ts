import { RapportError } from '../domain/errors';
import type { IndicatorReadModel } from '../ports/indicator-read-model';

/**
 * Opens the indicator read model over the engine's store in `dataDir`.
 * Stub until the engine store adapter is wired (owned by the lead): it throws `not_available`.
 */
export async function openIndicatorReadModel(dataDir: string): Promise<IndicatorReadModel> {
  throw new RapportError('not_available', `engine state not available yet (data directory ${dataDir})`);
}
