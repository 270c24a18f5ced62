import { useRef, type ReactNode } from 'react';
import { jumpTo, type YamlError } from './yaml-editing';

/** Props of {@link YamlEditor}. */
export interface YamlEditorProps {
  /** What is edited, e.g. `lens` or `playbook`: the textarea id, test ids and status texts derive from it. */
  kind: string;
  /** Accessible label of the textarea, e.g. `Lens YAML`. */
  label: string;
  text: string;
  onChange: (text: string) => void;
  /** Validation result (`null` before the first answer). */
  errors: YamlError[] | null;
  checking: boolean;
  /** Buttons and messages below the validation status. */
  children?: ReactNode;
}

/**
 * The YAML editing pane of the lens and playbook pages: the textarea, the live validation status and the
 * list of problems, each a link that puts the caret on its line and column.
 */
export function YamlEditor(props: YamlEditorProps) {
  const area = useRef<HTMLTextAreaElement>(null);
  const { kind, errors } = props;
  const ok = errors !== null && errors.length === 0;
  return (
    <div className="editor">
      <label className="sr" htmlFor={`${kind}-yaml`}>
        {props.label}
      </label>
      <textarea id={`${kind}-yaml`} ref={area} value={props.text} onChange={(e) => props.onChange(e.target.value)} spellCheck={false} rows={24} data-testid={`${kind}-yaml`} />
      <div className="editor-side">
        <div className={ok ? 'status ok' : errors && errors.length ? 'status bad' : 'status'} role="status" aria-live="polite" data-testid={`${kind}-status`}>
          {props.checking ? 'Checking…' : errors === null ? 'Not checked yet' : ok ? `✓ Valid ${kind}` : `${errors.length} problem${errors.length === 1 ? '' : 's'}`}
        </div>
        {errors && errors.length ? (
          <ul className="lens-errors" data-testid={`${kind}-errors`}>
            {errors.map((e, i) => (
              <li key={i}>
                <button type="button" className="link" onClick={() => jumpTo(area.current, props.text, e.line, e.column)}>
                  line {e.line}, column {e.column}
                </button>
                : {e.message}
              </li>
            ))}
          </ul>
        ) : null}
        {props.children}
      </div>
    </div>
  );
}
