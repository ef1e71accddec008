import type { JobProgress, JobSocketEventOf } from '../realtime/job-socket.contract.ts';
import type { JobRecord } from './jobs.repository.ts';

type Counters = Record<string, unknown>;

/**
 * The platform's job events, as `/ws/job/{id}` sends them (`job-socket.contract.ts`), built here
 * only: by the runner, the jobs service, the reconciler, the progress reporter and the socket.
 * A module's own events (`error`, `chunk_processing`, `delivery`) go out through its job's `emit`.
 */
export const jobEvents = {
  subscribed: (jobId: string): JobSocketEventOf<'subscribed'> => ({
    type: 'subscribed',
    job_id: jobId,
    message: `Suscrito a las actualizaciones del job ${jobId}`,
  }),
  started: (jobId: string, message: string): JobSocketEventOf<'job_started'> => ({ type: 'job_started', job_id: jobId, message }),
  progress: (jobId: string, progress: Counters, more: Counters = {}): JobSocketEventOf<'progress'> => ({
    type: 'progress',
    job_id: jobId,
    ...more,
    progress: progress as JobProgress,
  }),
  completed: (jobId: string, results: Counters): JobSocketEventOf<'job_completed'> => ({ type: 'job_completed', job_id: jobId, status: 'completed', results }),
  failed: (jobId: string, error: string | null, more: { progress?: Counters; results?: Counters | null } = {}): JobSocketEventOf<'job_failed'> => ({
    type: 'job_failed',
    job_id: jobId,
    status: 'failed',
    error,
    message: `El job falló: ${error ?? ''}`,
    ...(more.progress ? { progress: more.progress as JobProgress } : {}),
    ...(more.results !== undefined ? { results: more.results } : {}),
  }),
  /** A socket opened for a job that does not exist (it then closes with 4404). */
  notFound: (jobId: string): JobSocketEventOf<'job_failed'> => ({
    type: 'job_failed',
    job_id: jobId,
    error: 'not_found',
    message: 'Job no encontrado / Job not found',
  }),
  cancelled: (jobId: string, progress: Counters): JobSocketEventOf<'job_cancelled'> => ({
    type: 'job_cancelled',
    job_id: jobId,
    status: 'cancelled',
    progress: progress as JobProgress,
  }),
  paused: (jobId: string, progress: Counters): JobSocketEventOf<'job_paused'> => ({
    type: 'job_paused',
    job_id: jobId,
    status: 'paused',
    progress: progress as JobProgress,
  }),
  resumed: (jobId: string): JobSocketEventOf<'job_resumed'> => ({ type: 'job_resumed', job_id: jobId, status: 'pending' }),
  pong: (jobId: string, timestamp: string | number): JobSocketEventOf<'pong'> => ({ type: 'pong', job_id: jobId, timestamp }),
};

/** The event that ended a job, from its record; null while it has not ended (a paused job has not). */
export function terminalEvent(job: JobRecord) {
  if (job.status === 'completed') return jobEvents.completed(job.id, job.results ?? {});
  if (job.status === 'failed') return jobEvents.failed(job.id, job.error);
  if (job.status === 'cancelled') return jobEvents.cancelled(job.id, job.progress);
  return null;
}
