import type { Change } from './sync-feed.contract.ts';

/**
 * The most recent changes of the feed, kept in memory by each process and shared by every client
 * that pulls from it. It holds every change with `from < seq ≤ upto` and nothing else: a change is
 * added only when the one before it is there (or is known not to exist), so a page it serves never
 * has a hole. Changes come from this process's commits and, in scaled mode, from the bus event of
 * every other process's; a change that arrives ahead of one it has not seen waits aside until a read
 * of the database fills the gap.
 *
 * Changes are appended under an advisory lock held until commit (see the repository's appendChange),
 * so they commit in `seq` order: a read of `seq > upto` at any moment returns every change that has
 * committed after `upto`, and a `seq` it skips was rolled back and never will be.
 *
 * `page` answers null whenever the window cannot answer as the database would: not started, a cursor
 * older than what it holds (or newer than what it has), or a change this process knows was committed
 * and is not in the window yet (`known > upto`). The caller then reads the database.
 */
export class ChangeWindow {
  readonly #capacity: number;
  #changes: Change[] = [];
  /** Window covers (from, upto]; -1 until started. */
  #from = -1;
  #upto = -1;
  /** The highest seq this process knows has committed (events, reads of the feed). */
  #known = 0;
  /** Changes that arrived ahead of a gap, by seq. */
  readonly #ahead = new Map<number, Change>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get enabled() {
    return this.#capacity > 0;
  }

  /** True while a change known to exist is missing: the next pulls read the database until `fill` catches up. */
  get behind() {
    return this.enabled && (this.#from < 0 || this.#known > this.#upto);
  }

  get upto() {
    return this.#upto;
  }

  get known() {
    return this.#known;
  }

  /** Empty, complete up to `last` (the feed's latest seq when read). Never moves backwards. */
  start(last: number) {
    if (!this.enabled || last <= this.#upto) return;
    this.#changes = [];
    this.#from = this.#upto = last;
    this.know(last);
    this.#drainAhead();
  }

  /** A committed change (from this process's commit or another's event). */
  add(change: Change) {
    if (!this.enabled) return;
    this.know(change.seq);
    if (this.#from < 0) {
      this.#ahead.set(change.seq, change);
      return;
    }
    if (change.seq <= this.#upto) return;
    if (change.seq === this.#upto + 1) {
      this.#push(change);
      this.#drainAhead();
    } else {
      this.#ahead.set(change.seq, change);
      // Bounded: what is dropped here is read from the database when the gap is filled.
      if (this.#ahead.size > this.#capacity) this.#ahead.clear();
    }
  }

  /** A seq known to have committed, without its change (e.g. read as the feed's latest). */
  know(seq: number) {
    if (seq > this.#known) this.#known = seq;
  }

  /**
   * Rows read from the database with `seq > after`, in order: every change committed in
   * (after, last row] (none is skipped, see above). `after` must be at most `upto`.
   */
  fill(after: number, rows: Change[]) {
    if (!this.enabled || this.#from < 0 || after > this.#upto) return;
    for (const c of rows) if (c.seq > this.#upto) this.#push(c);
    const last = rows.at(-1)?.seq;
    if (last !== undefined) {
      this.know(last);
      if (last > this.#upto) this.#upto = last;
    }
    this.#drainAhead();
  }

  /** The page a read of `seq > cursor … limit + 1` would return, or null when the window cannot tell. */
  page(cursor: number, limit: number): { changes: Change[]; hasMore: boolean } | null {
    if (this.behind || cursor < this.#from || cursor > this.#upto) return null;
    const xs = this.#changes;
    let lo = 0;
    let hi = xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (xs[mid]!.seq <= cursor) lo = mid + 1;
      else hi = mid;
    }
    return { changes: xs.slice(lo, lo + limit), hasMore: xs.length - lo > limit };
  }

  #push(c: Change) {
    this.#changes.push(c);
    this.#upto = c.seq;
    if (this.#changes.length > this.#capacity) {
      const dropped = this.#changes.splice(0, this.#changes.length - this.#capacity);
      this.#from = dropped.at(-1)!.seq;
    }
  }

  #drainAhead() {
    for (const seq of [...this.#ahead.keys()]) if (seq <= this.#upto) this.#ahead.delete(seq);
    for (let next = this.#ahead.get(this.#upto + 1); next; next = this.#ahead.get(this.#upto + 1)) {
      this.#ahead.delete(next.seq);
      this.#push(next);
    }
  }
}
