import { sqlState } from '../http/hostile-input.ts';

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: rows that many requests each need written, written together. The first row goes to
 * the database at once; rows that arrive while a statement is in flight wait for it and go together
 * in the next statement (no fixed wait, so an idle system answers as fast as one statement allows,
 * and a busy one spends one statement and one commit on many rows).
 *
 * With `collect: 'turn'` the first row instead goes at the end of the current turn of the event loop
 * (setImmediate: after the requests already read in this turn, not after a delay). That is for the
 * embedded database, whose statements run on this thread: nothing can arrive while one is "in
 * flight", so without it every statement would carry a single row however busy the process is.
 *
 * Each caller's promise settles only once the statement that carried its row has committed, or with
 * that statement's error: a caller never goes on as if its row were written when it was not. A batch
 * refused for one of its rows (an integrity violation: a foreign key gone meanwhile, say) is written
 * again row by row, so that only the row at fault fails; any other error fails the whole batch.
 */
export class GroupCommit<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  readonly #collect: 'none' | 'turn';
  #waiting: Waiting<T>[] = [];
  #inFlight = false;

  constructor(write: (items: T[]) => Promise<void>, opts: { maxBatch?: number; collect?: 'none' | 'turn' } = {}) {
    this.#write = write;
    this.#maxBatch = opts.maxBatch ?? 500;
    this.#collect = opts.collect ?? 'none';
  }

  /** Resolves once `item` is committed; rejects with the error of the statement that carried it. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#inFlight) return;
      this.#inFlight = true;
      if (this.#collect === 'turn') setImmediate(() => void this.#drain());
      else void this.#drain();
    });
  }

  async #drain() {
    try {
      while (this.#waiting.length) {
        const batch = this.#waiting.splice(0, this.#maxBatch);
        await this.#writeBatch(batch);
      }
    } finally {
      this.#inFlight = false;
    }
  }

  async #writeBatch(batch: Waiting<T>[]) {
    try {
      await this.#write(batch.map((w) => w.item));
    } catch (err) {
      if (batch.length > 1 && sqlState(err)?.startsWith('23')) {
        for (const w of batch) await this.#writeBatch([w]);
        return;
      }
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }
}
