/**
 * Newer / older buttons over the API's cursor pagination: `cursors` is the stack of cursors
 * followed so far (empty on the first page), `nextCursor` the page's own (null on the last).
 */
export function Pager({
  cursors,
  nextCursor,
  onChange,
}: {
  cursors: string[];
  nextCursor: string | null | undefined;
  onChange: (cursors: string[]) => void;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button
        type="button"
        disabled={cursors.length === 0}
        onClick={() => onChange(cursors.slice(0, -1))}
      >
        ← Newer
      </button>
      <button
        type="button"
        disabled={!nextCursor}
        onClick={() => nextCursor && onChange([...cursors, nextCursor])}
      >
        Older →
      </button>
    </nav>
  );
}
