import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { io, type Socket } from 'socket.io-client';
import type { Order } from '../modules/sync-feed/sync-feed.contract.ts';

export interface Change {
  seq: number;
  entity: string;
  entity_id: string;
  op: 'created' | 'updated' | 'cancelled';
  /** The order as it was after this change. */
  data: Order;
  created_at: string;
}

export interface SyncClientOptions {
  backendUrl: string;
  apiKey: string;
  /** Where the last applied sequence number is kept across restarts. */
  cursorFile: string;
  /** Applies one change. Must be idempotent: a change can arrive more than once. */
  apply(change: Change): Promise<void> | void;
  pageSize?: number;
  /** Told of each failed pass; the client retries it by itself. */
  onError?(err: Error): void;
  /** First wait before retrying a failed pull (doubled each time, with jitter, up to `retryMaxMs`). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * The reference local app for seed 001: connects to `/sync` with its API key, pulls on
 * `changes:pending` and on every (re)connect, applies in order, confirms after applying, and keeps
 * its cursor in a file so a restart never applies a change twice. A pull that fails (the node went
 * away, the database is briefly unreachable) is retried with backoff until one succeeds.
 */
export class SyncClient {
  readonly #o: SyncClientOptions;
  #socket: Socket | null = null;
  #draining: Promise<void> | null = null;
  #again = false;
  #failures = 0;
  #retry: NodeJS.Timeout | null = null;
  #closed = false;
  applied: number;

  constructor(options: SyncClientOptions) {
    this.#o = options;
    this.applied = existsSync(options.cursorFile) ? Number(readFileSync(options.cursorFile, 'utf8')) || 0 : 0;
  }

  get socket() {
    return this.#socket;
  }

  connect(): Promise<void> {
    const socket = io(`${this.#o.backendUrl}/sync`, {
      auth: { apiKey: this.#o.apiKey },
      transports: ['websocket', 'polling'],
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 2000,
    });
    this.#socket = socket;
    this.#closed = false;
    socket.on('changes:pending', () => void this.sync());
    // Also after every reconnection: what was announced while disconnected was not heard.
    socket.on('connect', () => void this.sync());
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err));
    });
  }

  /** Drains every pending page; concurrent calls fold into one more pass. */
  sync(): Promise<void> {
    if (this.#draining) {
      this.#again = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      try {
        do {
          this.#again = false;
          while (await this.#pullOnce());
        } while (this.#again);
        this.#failures = 0;
      } catch (err) {
        this.#o.onError?.(err as Error);
        this.#scheduleRetry();
      } finally {
        this.#draining = null;
      }
    })();
    return this.#draining;
  }

  disconnect() {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    this.#socket?.disconnect();
  }

  #scheduleRetry() {
    if (this.#closed || this.#retry) return;
    const base = this.#o.retryBaseMs ?? 250,
      max = this.#o.retryMaxMs ?? 10_000;
    const wait = Math.min(max, base * 2 ** this.#failures++) * (0.5 + Math.random() / 2);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.sync();
    }, wait);
  }

  async #pullOnce(): Promise<boolean> {
    const headers = { authorization: `Bearer ${this.#o.apiKey}`, 'content-type': 'application/json' };
    const res = await fetch(`${this.#o.backendUrl}/sync/pull-changes?limit=${this.#o.pageSize ?? 100}`, { headers, signal: AbortSignal.timeout(15_000) });
    if (!res.ok) throw new Error(`pull-changes: HTTP ${res.status}`);
    const page = (await res.json()) as { changes: Change[]; last_seq: number; has_more: boolean };
    for (const change of page.changes) {
      if (change.seq <= this.applied) continue; // applied before a restart or a lost confirm
      await this.#o.apply(change);
      this.applied = change.seq;
      this.#saveCursor();
    }
    if (page.changes.length) {
      const ack = await fetch(`${this.#o.backendUrl}/sync/confirm`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ seq: page.last_seq }),
        signal: AbortSignal.timeout(15_000),
      });
      if (!ack.ok) throw new Error(`confirm: HTTP ${ack.status}`);
    }
    return page.has_more;
  }

  #saveCursor() {
    const tmp = `${this.#o.cursorFile}.tmp`;
    writeFileSync(tmp, String(this.applied));
    renameSync(tmp, this.#o.cursorFile);
  }
}
