import type { DeviceRow } from './devices.drivers.ts';

export type PacingSettings = Pick<DeviceRow, 'messages_per_minute' | 'min_gap_ms' | 'max_gap_ms' | 'pause_after' | 'pause_seconds' | 'typing_delay_ms'>;

/**
 * A device's rhythm: at most `messages_per_minute`, a random gap between `min_gap_ms` and
 * `max_gap_ms`, a rest of `pause_seconds` after every `pause_after` messages. It only computes
 * times (the clock and the dice are given to it); the sender does the waiting.
 */
export class Pacer {
  readonly #settings: PacingSettings;
  readonly #random: () => number;
  #sinceBreak = 0;
  #nextSlot: number;

  /** `nextSlot`: when the device may send next as the last job that used it left it (ms since the epoch). */
  constructor(settings: PacingSettings, nextSlot = 0, random: () => number = Math.random) {
    this.#settings = settings;
    this.#nextSlot = nextSlot;
    this.#random = random;
  }

  /** Whether the device has any pacing at all; an unpaced one sends as fast as its provider answers. */
  get paced(): boolean {
    const d = this.#settings;
    return Boolean(d.messages_per_minute || d.min_gap_ms || d.max_gap_ms || d.pause_after || d.typing_delay_ms);
  }

  /** The earliest time the next send may start (ms since the epoch), not counting a rest still to be taken. */
  get nextSlot(): number {
    return this.#nextSlot;
  }

  /** When the next send may start, seen at `now`: a rest is due after every `pause_after` sends. */
  slot(now: number): number {
    const d = this.#settings;
    let wait = 0;
    if (d.pause_after && this.#sinceBreak >= d.pause_after) {
      this.#sinceBreak = 0;
      wait = d.pause_seconds * 1000;
    }
    return Math.max(now + wait, this.#nextSlot);
  }

  /**
   * The send given `slot` started at `startedAt`. The next slot counts from when this send starts, not
   * from when its call returns (a slow provider does not lower the rate) and not from the slot (a send
   * the process was late for is not followed by a catch-up burst: the gap between two real sends
   * never falls below it).
   */
  started(slot: number, startedAt: number): void {
    const d = this.#settings;
    const interval = d.messages_per_minute ? 60_000 / d.messages_per_minute : 0;
    const gap = d.max_gap_ms > d.min_gap_ms ? d.min_gap_ms + this.#random() * (d.max_gap_ms - d.min_gap_ms) : d.min_gap_ms;
    this.#nextSlot = Math.max(slot, startedAt) + Math.max(interval, gap);
    this.#sinceBreak++;
  }
}
