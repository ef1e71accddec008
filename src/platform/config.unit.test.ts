import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, scheduleTimeZone } from './config.ts';
import { cronEvery } from '../modules/zoho/zoho.jobs.ts';

const env = (o: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...o });

test('a nightly schedule is a five-field cron expression; off or empty means none; unset keeps the default', () => {
  assert.equal(env({}).WISPRO_SYNC_CRON, '0 3 * * *');
  assert.equal(env({}).ZOHO_RECONCILE_CRON, '30 2 * * *');
  assert.equal(env({ WISPRO_SYNC_CRON: '  15 4 * * 1-5 ' }).WISPRO_SYNC_CRON, '15 4 * * 1-5');
  assert.equal(env({ WISPRO_SYNC_CRON: 'off' }).WISPRO_SYNC_CRON, null);
  assert.equal(env({ WISPRO_SYNC_CRON: 'OFF' }).WISPRO_SYNC_CRON, null);
  assert.equal(env({ ZOHO_RECONCILE_CRON: '' }).ZOHO_RECONCILE_CRON, null);
});

test('a schedule that is not five fields stops start-up, naming the variable', () => {
  for (const bad of ['0 3 * *', 'daily', '0 3 * * * *']) {
    assert.throws(
      () => env({ WISPRO_SYNC_CRON: bad }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /WISPRO_SYNC_CRON: must be a five-field cron expression/);
        return true;
      },
      bad,
    );
  }
});

test('schedules run in TZ when it names a zone', () => {
  assert.equal(scheduleTimeZone(env({ TZ: 'America/Lima' })), 'America/Lima');
  assert.equal(scheduleTimeZone(env({})), Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC');
});

test('an interval in minutes becomes a cron expression; 0 (or less) means no schedule', () => {
  assert.equal(cronEvery(1), '*/1 * * * *');
  assert.equal(cronEvery(5), '*/5 * * * *');
  assert.equal(cronEvery(30), '*/30 * * * *');
  assert.equal(cronEvery(60), '0 */1 * * *');
  assert.equal(cronEvery(120), '0 */2 * * *');
  assert.equal(cronEvery(720), '0 */12 * * *');
  assert.equal(cronEvery(1440), '0 0 * * *');
  assert.equal(cronEvery(0), null);
  assert.equal(cronEvery(-5), null);
  // Steps that do not divide an hour or a day would restart at each hour or midnight: uneven, so refused.
  for (const uneven of [7, 45, 90, 1380, 2880]) assert.throws(() => cronEvery(uneven), RangeError);
});

test('an interval that cannot repeat evenly stops start-up with the values that can', () => {
  assert.throws(() => env({ ZOHO_SYNC_INTERVAL_MINUTES: '90' }), /ZOHO_SYNC_INTERVAL_MINUTES.*(regular|evenly)/s);
  assert.throws(() => env({ ZOHO_CODE_SYNC_INTERVAL_MINUTES: '7' }), /ZOHO_CODE_SYNC_INTERVAL_MINUTES/);
  assert.equal(env({ ZOHO_SYNC_INTERVAL_MINUTES: '15', ZOHO_CODE_SYNC_INTERVAL_MINUTES: '0' }).ZOHO_SYNC_INTERVAL_MINUTES, 15);
});
