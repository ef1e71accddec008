import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer, type PacingSettings } from './devices.pacer.ts';

const settings = (o: Partial<PacingSettings> = {}): PacingSettings => ({
  messages_per_minute: null,
  min_gap_ms: 0,
  max_gap_ms: 0,
  pause_after: null,
  pause_seconds: 0,
  typing_delay_ms: 0,
  ...o,
});

/** Sends `n` messages, each starting as soon as it may plus `late` ms; returns their start times. */
function run(p: Pacer, n: number, late = 0, start = 1_000_000): number[] {
  const starts: number[] = [];
  let now = start;
  for (let i = 0; i < n; i++) {
    const slot = p.slot(now);
    now = Math.max(now, slot) + late;
    p.started(slot, now);
    starts.push(now);
  }
  return starts;
}
const gaps = (t: number[]) => t.slice(1).map((x, i) => x - t[i]!);

test('a device with no pacing setting is unpaced', () => {
  assert.equal(new Pacer(settings()).paced, false);
  for (const o of [{ messages_per_minute: 30 }, { min_gap_ms: 1 }, { max_gap_ms: 1 }, { pause_after: 10 }, { typing_delay_ms: 500 }]) {
    assert.equal(new Pacer(settings(o)).paced, true, JSON.stringify(o));
  }
});

test('messages per minute spaces the sends evenly', () => {
  assert.deepEqual(gaps(run(new Pacer(settings({ messages_per_minute: 20 })), 5)), [3000, 3000, 3000, 3000]);
});

test('the random gap stays between its bounds, and the slower of rate and gap wins', () => {
  const dice = [0, 0.5, 0.999, 0.25];
  let i = 0;
  const p = new Pacer(settings({ min_gap_ms: 1000, max_gap_ms: 3000 }), 0, () => dice[i++ % dice.length]!);
  assert.deepEqual(gaps(run(p, 5)), [1000, 2000, 2998, 1500]);
  const rateWins = new Pacer(settings({ messages_per_minute: 10, min_gap_ms: 1000, max_gap_ms: 2000 }), 0, () => 1);
  assert.deepEqual(gaps(run(rateWins, 3)), [6000, 6000]);
  const fixed = new Pacer(settings({ min_gap_ms: 700, max_gap_ms: 100 }), 0, () => 0.9);
  assert.deepEqual(gaps(run(fixed, 3)), [700, 700], 'a max below the min means the min');
});

test('after every pause_after sends the device rests pause_seconds', () => {
  const p = new Pacer(settings({ messages_per_minute: 60, pause_after: 3, pause_seconds: 10 }));
  assert.deepEqual(gaps(run(p, 7)), [1000, 1000, 10_000, 1000, 1000, 10_000]);
});

test('a send the process was late for is not followed by a catch-up burst', () => {
  const p = new Pacer(settings({ messages_per_minute: 60 }));
  assert.deepEqual(gaps(run(p, 4, 400)), [1400, 1400, 1400], 'the next slot counts from the real start');
});

test('the pace carries over from the job that used the device before', () => {
  const now = 5_000_000;
  const p = new Pacer(settings({ messages_per_minute: 6 }), now + 8000);
  assert.equal(p.slot(now), now + 8000, 'waits for the slot the last job left');
  assert.equal(new Pacer(settings({ messages_per_minute: 6 }), now - 8000).slot(now), now, 'a slot in the past is now');
  p.started(now + 8000, now + 8000);
  assert.equal(p.nextSlot, now + 18_000);
});
