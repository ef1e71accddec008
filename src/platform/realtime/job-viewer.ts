/**
 * What a job socket viewer without a staff token sees when no loaded module says what it may see
 * (messaging's hook masks phone numbers): the platform cannot tell personal data from the rest, so
 * it fails closed. The event keeps its type, job id, status, ids and timestamps, and its progress
 * counters; every other digit in its text is hidden, and so is any other number big enough to be a
 * phone number. Events keep their shape (text stays text), so the socket contract still holds.
 */
const KEPT_TEXT = new Set(['type', 'job_id', 'status']);
/** Ids and timestamps, which are digits too, are matched first and left as they are. */
const DIGITS =
  /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)|\d/gi;
/** The smallest number with seven digits: the shortest phone numbers have that many. */
const PHONE_SIZED = 1_000_000;

export function withheldForViewer(value: unknown, key = '', counters = false, depth = 0): unknown {
  if (typeof value === 'string') return KEPT_TEXT.has(key) ? value : value.replace(DIGITS, (m, id?: string, time?: string) => (id || time ? m : '*'));
  if (typeof value === 'number') return counters || Math.abs(value) < PHONE_SIZED ? value : '*'.repeat(String(value).length);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 20) return '[…]';
  if (Array.isArray(value)) return value.map((v) => withheldForViewer(v, key, false, depth + 1));
  // The event's own `progress` holds only counters (the socket contract says so).
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withheldForViewer(v, k, depth === 1 && key === 'progress', depth + 1)]));
}
