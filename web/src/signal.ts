import { useEffect, useState } from 'preact/hooks';

/** A tiny observable value; `useSignal` re-renders a component when it changes. */
export interface Signal<T> {
  value: T;
  subscribe(fn: () => void): () => void;
}

export function signal<T>(initial: T): Signal<T> {
  let value = initial;
  const subs = new Set<() => void>();
  return {
    get value() {
      return value;
    },
    set value(v: T) {
      value = v;
      for (const s of subs) s();
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}

export function useSignal<T>(s: Signal<T>): T {
  const [, force] = useState(0);
  useEffect(() => s.subscribe(() => force((n) => n + 1)), [s]);
  return s.value;
}
