import { useEffect, useState } from 'react';
import { api } from './api';

/** One validation problem of a YAML file, with its position. */
export interface YamlError {
  line: number;
  column: number;
  path?: string;
  message: string;
}

/**
 * Validates YAML as the user types: debounced (300 ms), the latest answer wins, earlier requests are
 * aborted. `onResult` sees the whole answer (e.g. a parsed id); `setErrors` lets a save report its own errors.
 */
export function useYamlValidation<R extends { errors: YamlError[] }>(
  url: string,
  text: string,
  setFailure: (e: Error) => void,
  onResult?: (r: R) => void,
) {
  const [errors, setErrors] = useState<YamlError[] | null>(null);
  const [checking, setChecking] = useState(false);
  useEffect(() => {
    setChecking(true);
    const ctl = new AbortController();
    const t = setTimeout(() => {
      api<R>(url, { method: 'POST', body: { yaml: text }, signal: ctl.signal }).then(
        (r) => {
          setErrors(r.errors);
          onResult?.(r);
          setChecking(false);
        },
        (e: unknown) => {
          if (!ctl.signal.aborted) {
            setFailure(e as Error);
            setChecking(false);
          }
        },
      );
    }, 300);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
    // onResult and setFailure are setters or stable callbacks; re-validate on text only.
  }, [url, text]);
  return { errors, setErrors, checking };
}

/** Puts the caret of a textarea on a line and column (1-based) and scrolls it into view. */
export function jumpTo(el: HTMLTextAreaElement | null, text: string, line: number, column: number): void {
  if (!el) return;
  const lines = text.split('\n');
  let pos = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i]!.length + 1;
  pos += Math.max(0, column - 1);
  el.focus();
  el.setSelectionRange(pos, pos);
  el.scrollTop = Math.max(0, (line - 5) * 18);
}
