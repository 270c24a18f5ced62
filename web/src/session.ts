import { createContext, useContext } from 'react';
import type { Lens, Me } from './api';

/** The signed-in user and the lens the pages look through. */
export interface Session {
  me: Me;
  lenses: Lens[];
  lens: string;
  setLens: (l: string) => void;
  signOut: () => void;
  canEdit: boolean;
  isAdmin: boolean;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}

/** The selected lens's definition, if known. */
export function useLens(): Lens | undefined {
  const s = useSession();
  return s.lenses.find((l) => l.name === s.lens);
}
