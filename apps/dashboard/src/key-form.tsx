import { useState } from 'preact/hooks';

/** Asks for an API key; it is kept in this tab's session storage only. */
export function KeyForm({
  problem,
  onKey,
}: {
  problem: string | null;
  onKey: (key: string) => void;
}) {
  const [key, setKey] = useState('');
  return (
    <form
      class="card key-form"
      onSubmit={(event) => {
        event.preventDefault();
        if (key.trim()) onKey(key.trim());
      }}
    >
      <h1>API key needed</h1>
      <p>
        This Tasker API requires an API key (<code>TASKER_API_KEYS</code>). A read key shows
        everything; operator actions need a write key. The key stays in this browser tab and is sent
        only in the <code>X-API-Key</code> header.
      </p>
      {problem && (
        <p role="alert" class="error">
          {problem}
        </p>
      )}
      <label>
        API key
        <input
          type="password"
          name="api-key"
          autoComplete="off"
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          required
        />
      </label>
      <button type="submit">Use key</button>
    </form>
  );
}
