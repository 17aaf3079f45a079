import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Loads again now (after an action), then keeps the rhythm. */
  refresh: () => void;
}

/**
 * Loads now and then every `intervalMs` while the page is visible, until the inputs in `deps`
 * change or the component goes away. A load never overlaps the previous one.
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (!document.hidden) {
        try {
          const value = await loadRef.current();
          if (stopped) return;
          setData(value);
          setError(undefined);
        } catch (err) {
          if (stopped) return;
          setError(err instanceof Error ? err : new Error(String(err)));
        }
      }
      if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, intervalMs, generation]);

  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, refresh };
}
