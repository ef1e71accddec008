import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.ts';
import type { EventBus } from '../events/bus.ts';
import { conflict, notFound } from '../http/errors.ts';
import { jobChannel } from './job-definition.ts';
import type { JobRunner } from './job-runner.ts';
import { activeStatuses, jobsRepository, type JobRecord, type JobStatus } from './jobs.repository.ts';

export interface StartOptions {
  /** The job's id when the caller needed it earlier (a bulk send stages its recipients under it). */
  id?: string;
  params?: Record<string, unknown>;
  progress?: Record<string, unknown>;
  createdBy?: string | null;
}

/** What modules and routes use to start, read and steer background jobs. */
export class JobsService {
  readonly #db: Database;
  readonly #runner: JobRunner;
  readonly #bus: EventBus;

  constructor(db: Database, runner: JobRunner, bus: EventBus) {
    this.#db = db;
    this.#runner = runner;
    this.#bus = bus;
  }

  /** Creates the job record and queues it; for a singleton type, returns the active job instead. */
  async start(type: string, payload: unknown, opts: StartOptions = {}): Promise<{ job: JobRecord; created: boolean }> {
    const def = this.#runner.definition(type);
    const data = def.payload.parse(payload);
    const { job, created } = await this.#db.orm.transaction(async (tx) => {
      if (def.singleton) {
        await jobsRepository.lockType(tx, type);
        const active = await jobsRepository.findActive(tx, type);
        if (active) return { job: active, created: false };
      }
      const row = await jobsRepository.insert(tx, {
        id: opts.id ?? randomUUID(), type, params: { ...opts.params, payload: data }, progress: opts.progress ?? {}, createdBy: opts.createdBy ?? null,
      });
      return { job: row, created: true };
    });
    if (created) await this.#runner.enqueue(job, data);
    return { job, created };
  }

  async get(id: string) {
    if (!isUuid(id)) return null;
    return jobsRepository.get(this.#db.orm, id);
  }

  async require(id: string) {
    const job = await this.get(id);
    if (!job) throw notFound('Job no encontrado / Job not found');
    return job;
  }

  async list(f: { type?: string; status?: string; limit: number; offset: number }) {
    const [items, total] = await Promise.all([jobsRepository.list(this.#db.orm, f), jobsRepository.count(this.#db.orm, f)]);
    return { items, total };
  }

  async cancel(id: string) {
    return this.#stop(id, 'cancelled', ['pending', 'processing', 'paused']);
  }

  async pause(id: string) {
    return this.#stop(id, 'paused', ['pending', 'processing']);
  }

  async resume(id: string) {
    const job = await this.require(id);
    const resumed = await jobsRepository.setStatus(this.#db.orm, id, 'pending', ['paused']);
    if (!resumed) throw conflict(`Solo un job en pausa se puede reanudar (estado actual: ${job.status})`);
    await this.#runner.enqueue(resumed, await this.#payloadOf(resumed));
    await this.#bus.publish(jobChannel(id), { type: 'job_resumed', job_id: id, status: 'pending' });
    return resumed;
  }

  async #stop(id: string, to: 'cancelled' | 'paused', from: JobStatus[]) {
    const job = await this.require(id);
    const updated = await jobsRepository.setStatus(this.#db.orm, id, to, from);
    if (!updated) throw conflict(`No se puede ${to === 'cancelled' ? 'cancelar' : 'pausar'} un job en estado ${job.status}`);
    await this.#runner.signal(id, to);
    if (job.status === 'pending' || job.status === 'paused') {
      await this.#bus.publish(jobChannel(id), { type: to === 'cancelled' ? 'job_cancelled' : 'job_paused', job_id: id, status: to, progress: updated.progress });
    }
    return updated;
  }

  /** A resumed job is queued with the payload it was started with, kept in its params. */
  async #payloadOf(job: JobRecord) {
    return (job.params as { payload?: unknown }).payload ?? {};
  }
}

export const isActive = (status: JobStatus) => activeStatuses.includes(status);
export const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

/** The public shape of a job (seed 004's, for every type): params such as `message` sit at top level. */
export function jobReply(job: JobRecord) {
  const { payload: _payload, ...params } = job.params as Record<string, unknown>;
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    created_at: job.created_at,
    updated_at: job.updated_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    ...params,
    progress: job.progress,
    results: job.results,
    error: job.error,
    attempts: job.attempts,
  };
}
