import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

const OPERATOR_STORAGE = 'tasker.operator';

export interface ActionInput {
  operator: string;
  reason: string;
  result?: unknown;
  /** The option picked, where the action offers `choices`. */
  choice?: string;
}

/**
 * A modal that confirms an operator action: who acts and why (recorded in the history), and a
 * JSON result where the action takes one. It stays open showing the API's refusal, or closes
 * and hands the outcome to `onDone`.
 */
export function ConfirmAction({
  title,
  explanation,
  confirmLabel,
  withResult = false,
  withOperator = true,
  withReason = true,
  reasonLabel = 'Reason',
  choices,
  run,
  onDone,
  onCancel,
}: {
  title: string;
  explanation: string;
  confirmLabel: string;
  withResult?: boolean;
  withOperator?: boolean;
  withReason?: boolean;
  reasonLabel?: string;
  /** A required pick among these, shown first. */
  choices?: { label: string; options: { value: string; label: string }[] };
  run: (input: ActionInput) => Promise<string>;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [operator, setOperator] = useState(sessionStorage.getItem(OPERATOR_STORAGE) ?? '');
  const [reason, setReason] = useState('');
  const [result, setResult] = useState('{}');
  const [choice, setChoice] = useState(choices?.options[0]?.value ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    dialog.current?.showModal();
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    let parsed: unknown;
    if (withResult) {
      try {
        parsed = JSON.parse(result);
      } catch {
        setProblem('The result is not valid JSON.');
        return;
      }
    }
    setBusy(true);
    setProblem(null);
    try {
      if (withOperator) sessionStorage.setItem(OPERATOR_STORAGE, operator);
      const message = await run({
        operator,
        reason,
        ...(withResult ? { result: parsed } : {}),
        ...(choices ? { choice } : {}),
      });
      dialog.current?.close();
      onDone(message);
    } catch (err) {
      setProblem(err instanceof ApiError ? err.describe() : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <dialog ref={dialog} class="confirm" aria-labelledby="confirm-title" onCancel={onCancel}>
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="confirm-title">{title}</h2>
        <p>{explanation}</p>
        {choices && (
          <label>
            {choices.label}
            <select name="choice" value={choice} onChange={(e) => setChoice(e.currentTarget.value)}>
              {choices.options.map((option) => (
                <option key={option.value} value={option.value}>
                  {option.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {withOperator && (
          <label>
            Operator
            <input
              name="operator"
              value={operator}
              required
              maxLength={255}
              onInput={(e) => setOperator(e.currentTarget.value)}
            />
          </label>
        )}
        {withReason && (
          <label>
            {reasonLabel}
            <input
              name="reason"
              value={reason}
              required
              maxLength={1000}
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </label>
        )}
        {withResult && (
          <label>
            Result (JSON)
            <textarea
              name="result"
              rows={5}
              value={result}
              onInput={(e) => setResult(e.currentTarget.value)}
            />
          </label>
        )}
        {problem && (
          <p role="alert" class="error">
            {problem}
          </p>
        )}
        <div class="buttons">
          <button
            type="button"
            class="quiet"
            onClick={() => {
              dialog.current?.close();
              onCancel();
            }}
          >
            Back
          </button>
          <button type="submit" disabled={busy}>
            {confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
