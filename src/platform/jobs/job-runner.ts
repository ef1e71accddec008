import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { PgBoss, fromPglite, type Job } from 'pg-boss';
import { jobIntervals, scheduleTimeZone, type Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../logger.ts';
import { JobStoppedError, PermanentJobError, jobChannel, jobControlChannel, type JobContext, type JobDefinition, type JobEvent } from './job-definition.ts';
import { jobEvents } from './job-events.ts';
import { ProgressReporter } from './progress-reporter.ts';
import { LeaseSweeper } from './lease-sweeper.ts';
import { jobsRepository, type JobRecord } from './jobs.repository.ts';

/** Published after a job is sent, so that workers in other processes fetch it now rather than at their next poll. */
const queueWakeChannel = 'queue:wake';

interface QueuedData {
  jobId?: string;
  payload?: unknown;
}
type StopReason = 'cancelled' | 'paused' | 'shutdown';

export interface JobRunnerDeps {
  config: Config;
  db: Database;
  bus: EventBus;
  logger: Logger;
}

/** Owns pg-boss: queues, workers, schedules, and the lifecycle of each attempt of each job. */
export class JobRunner {
  readonly boss: PgBoss;
  readonly #deps: JobRunnerDeps;
  readonly #definitions = new Map<string, JobDefinition>();
  readonly #running = new Map<string, AbortController>();
  #unsubscribeControl: (() => Promise<void>) | null = null;
  #unsubscribeWake: (() => Promise<void>) | null = null;
  /** pg-boss worker ids per queue, woken when a job is sent instead of waiting for their next poll. */
  readonly #workers = new Map<string, string[]>();
  #working = false;
  #sweeper: LeaseSweeper | null = null;
  readonly #pollSeconds: number;
  /** Wakes set for deliveries that fall due later (retries, delayed sends); cleared on stop. */
  readonly #dueTimers = new Set<NodeJS.Timeout>();

  constructor(deps: JobRunnerDeps) {
    this.#deps = deps;
    const { config, db } = deps;
    const { pollSeconds, monitorSeconds } = jobIntervals(config, db.kind === 'pglite');
    this.#pollSeconds = pollSeconds;
    const common = {
      schema: 'pgboss',
      monitorIntervalSeconds: monitorSeconds,
      superviseIntervalSeconds: monitorSeconds,
      // Schedules are checked as often as before whatever the database, so a cron tick is not late.
      cronMonitorIntervalSeconds: Math.min(45, config.JOB_MONITOR_INTERVAL_SECONDS ?? 10),
      cronWorkerIntervalSeconds: Math.min(45, config.JOB_MONITOR_INTERVAL_SECONDS ?? 10),
      // Job dependencies (flows) are not used here: their maintenance pass runs with the monitor's.
      flowIntervalSeconds: monitorSeconds,
    };
    // Embedded: LISTEN/NOTIFY runs inside PGlite, so every job that becomes runnable in a statement
    // (a cron tick's send, a delivery handed back by the lease sweeper, a send from a script) wakes the
    // workers of its queue at once, whatever the poll interval; the poll stays as the safety net.
    this.boss =
      db.kind === 'pglite'
        ? new PgBoss({ ...common, db: fromPglite(db.pglite!), backend: 'pglite', useListenNotify: true })
        : new PgBoss({ ...common, connectionString: db.connectionString!, max: 4, application_name: 'puente-jobs' });
    this.boss.on('error', (err) => deps.logger.warn({ err: err.message }, 'job queue error'));
  }

  /** Declares job types (modules do at setup, before `start`). */
  define(definitions: JobDefinition[]) {
    for (const d of definitions) this.#definitions.set(d.type, d);
  }

  /** Every declared job type. */
  get definitions(): JobDefinition[] {
    return [...this.#definitions.values()];
  }

  definition(type: string) {
    const d = this.#definitions.get(type);
    if (!d) throw new Error(`Unknown job type ${type}`);
    return d;
  }

  definitionOrNull(type: string): JobDefinition | null {
    return this.#definitions.get(type) ?? null;
  }

  async start(opts: { work: boolean }) {
    await this.boss.start();
    const notify = this.#deps.db.kind === 'pglite';
    for (const d of this.#definitions.values()) {
      await this.boss
        .createQueue(d.type, {
          retryLimit: d.retryLimit ?? 2,
          retryDelay: d.retryDelaySeconds ?? 5,
          retryBackoff: d.retryBackoff ?? true,
          expireInSeconds: d.timeoutSeconds ?? 900,
          ...(d.heartbeatSeconds ? { heartbeatSeconds: d.heartbeatSeconds } : {}),
          ...(notify ? { notify } : {}),
        })
        .catch(async (err: Error) => {
          if (!/already exists/i.test(err.message)) throw err;
        });
      // A queue that already existed keeps its options (createQueue leaves it as it is): one made
      // before its workers were woken by notifications is told to send them now.
      if (notify && !(await this.boss.getQueue(d.type))?.notify) await this.boss.updateQueue(d.type, { notify });
      const cron = d.schedule?.() ?? null;
      // In TZ (or the process's zone): "0 3 * * *" means 3 AM where the business is, not in UTC.
      if (cron) await this.boss.schedule(d.type, cron, {}, { tz: scheduleTimeZone(this.#deps.config) });
      else await this.boss.unschedule(d.type).catch(() => {});
    }
    this.#unsubscribeControl = await this.#deps.bus.subscribe(jobControlChannel, (m) => {
      const { id, action } = m as { id: string; action: StopReason };
      this.#running.get(id)?.abort(action);
    });
    if (!opts.work) return;
    this.#working = true;
    this.#unsubscribeWake = await this.#deps.bus.subscribe(queueWakeChannel, (m) => this.#wake(String((m as { type?: unknown }).type)));
    this.#sweeper = new LeaseSweeper({
      db: this.#deps.db,
      boss: this.boss,
      logger: this.#deps.logger,
      types: [...this.#definitions.keys()],
      leaseSeconds: this.#deps.config.JOB_LEASE_SECONDS,
      ownJobs: () => this.#running.keys(),
      handedBack: (type) => this.#wakeAll(type),
    });
    this.#sweeper.start();
    for (const d of this.#definitions.values()) {
      // One pg-boss worker per concurrent slot (not localConcurrency), so a wake reaches an idle one
      // even while another runs a long job: pg-boss wakes a worker by id.
      const ids: string[] = [];
      for (let i = 0; i < (d.concurrency ?? 1); i++) {
        ids.push(
          await this.boss.work<QueuedData>(
            d.type,
            { batchSize: 1, pollingIntervalSeconds: this.#pollSeconds, notifyPollingIntervalSeconds: this.#pollSeconds },
            async ([job]) => this.#run(d, job!),
          ),
        );
      }
      this.#workers.set(d.type, ids);
    }
  }

  /**
   * Sends the job to the queue, then wakes the workers at once: this process's directly, the others
   * through the event bus. The wake only shortens the wait; the queue's fetch (SKIP LOCKED) still
   * decides who runs it, and a lost wake is covered by the regular poll.
   */
  async enqueue(record: JobRecord, payload: unknown, opts: { startAfterSeconds?: number } = {}) {
    await this.boss.send(
      record.type,
      { jobId: record.id, payload },
      {
        id: randomUUID(),
        ...(opts.startAfterSeconds ? { startAfter: opts.startAfterSeconds } : {}),
      },
    );
    if (opts.startAfterSeconds) return this.#wakeAt(record.type, Date.now() + opts.startAfterSeconds * 1000);
    await this.#wakeAll(record.type);
  }

  /** Wakes the idle workers of `type` here at once, and those of other processes through the event bus. */
  async #wakeAll(type: string) {
    this.#wake(type);
    if (this.#deps.bus.kind !== 'local') await this.#deps.bus.publish(queueWakeChannel, { type }).catch(() => {});
  }

  #wake(type: string) {
    for (const id of this.#workers.get(type) ?? []) this.boss.notifyWorker(id);
  }

  /**
   * Wakes this process's workers of `type` when a delivery falls due at `at` (epoch ms), so that a
   * retry or a delayed job starts on time rather than at the poll after it. Only this process's:
   * another process's workers find it at their own poll, or through their own timer.
   */
  #wakeAt(type: string, at: number) {
    if (!this.#working) return;
    const timer = setTimeout(
      () => {
        this.#dueTimers.delete(timer);
        this.#wake(type);
      },
      Math.max(0, at - Date.now()) + 25,
    );
    this.#dueTimers.add(timer);
  }

  /**
   * After a failed attempt the queue puts the delivery back with a retry delay of its own choosing
   * (backoff with jitter): reads when it falls due once the queue has recorded the failure, and sets a
   * wake for then.
   */
  #wakeForRetry(type: string, deliveryId: string) {
    if (!this.#working) return;
    void (async () => {
      for (let i = 0; i < 50 && this.#working; i++) {
        await sleep(i < 10 ? 20 : 200);
        const delivery = await this.boss.getJobById(type, deliveryId).catch(() => null);
        if (!delivery) return;
        if (delivery.state === 'active') continue; // the queue has not recorded the failure yet
        if (delivery.state === 'retry' || delivery.state === 'created') this.#wakeAt(type, new Date(delivery.startAfter).getTime());
        return;
      }
    })();
  }

  /** Asks whichever process runs the job to stop it at its next safe point. */
  async signal(id: string, action: 'cancelled' | 'paused') {
    await this.#deps.bus.publish(jobControlChannel, { id, action });
  }

  /** Releases running jobs (they resume from their checkpoint elsewhere) and stops pg-boss. */
  async stop(timeoutMs?: number) {
    this.#sweeper?.stop();
    for (const t of this.#dueTimers) clearTimeout(t);
    this.#dueTimers.clear();
    for (const c of this.#running.values()) c.abort('shutdown');
    const timeout = timeoutMs ?? this.#deps.config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
    await this.boss.stop({ graceful: true, timeout, close: true }).catch(() => {});
    await this.#unsubscribeControl?.();
    await this.#unsubscribeWake?.();
    this.#workers.clear();
    this.#working = false;
  }

  get working() {
    return this.#working;
  }

  async #run(def: JobDefinition, job: Job<QueuedData>) {
    const { db, bus, logger } = this.#deps;
    const jobId = job.data?.jobId ?? (await this.#recordForSchedule(def, job.id));
    if (!jobId) return;
    // The queue delivery's id leads the lease, so that a sweeper that finds the lease expired can
    // hand that delivery back to the queue at once (see LeaseSweeper).
    const lease = `${job.id}:${randomUUID()}`;
    const ttl = this.#leaseSeconds();
    const record = await this.#claim(def, job, jobId, lease, ttl);
    if (!record) return; // cancelled, paused or finished meanwhile, handed back to the queue, or run by a live attempt
    const controller = new AbortController();
    // An attempt whose lease was taken over (its process could not renew it in time) stops at once
    // and leaves the job to the attempt that took it.
    let leaseLost = false;
    const loseLease = () => {
      if (leaseLost || controller.signal.aborted) return;
      leaseLost = true;
      logger.warn({ job: jobId }, 'job lease taken over by another attempt; this one stops');
      controller.abort('shutdown');
    };
    const renew = setInterval(
      () =>
        void jobsRepository.renewLease(db.orm, jobId, lease, ttl).then(
          (held) => {
            if (!held) loseLease();
          },
          () => {},
        ),
      (ttl * 1000) / 3,
    );
    const payload = def.payload.parse(job.data?.payload ?? {});
    this.#running.set(jobId, controller);
    job.signal.addEventListener('abort', () => controller.abort('shutdown'), { once: true });
    const log = logger.child({ job: jobId, type: def.type });
    const reporter = new ProgressReporter(jobId, db, bus, (status) => {
      if (status === 'cancelled' || status === 'paused') controller.abort(status);
    });
    const publish = (event: JobEvent) => bus.publish(jobChannel(jobId), event);
    const emit = (event: Omit<JobEvent, 'job_id'>) => bus.publish(jobChannel(jobId), { ...event, job_id: jobId });
    const retryLimit = def.retryLimit ?? 2;
    const ctx: JobContext<unknown> = {
      job: record,
      data: payload,
      attempt: job.retryCount ?? 0,
      isLastAttempt: (job.retryCount ?? 0) >= retryLimit,
      signal: controller.signal,
      logger: log,
      checkpoint: record.checkpoint,
      progress: (p, e) => reporter.update(p, e),
      emit,
      // Fenced by the lease: work committed with a checkpoint is this attempt's only while the job is.
      transaction: (fn) =>
        db.orm.transaction(async (tx) => {
          if (!(await jobsRepository.lockLease(tx, jobId, lease))) {
            loseLease();
            throw new JobStoppedError('shutdown');
          }
          return fn(tx, (value) => jobsRepository.writeCheckpoint(tx, jobId, value));
        }),
      checkpointStatement: (checkpoint, progress) => jobsRepository.checkpointStatement(jobId, checkpoint, progress),
      throwIfStopped: () => {
        if (controller.signal.aborted) throw new JobStoppedError(controller.signal.reason as StopReason);
      },
    };
    try {
      // Events are best-effort: nothing on the job's path waits for one (see EventBus).
      void publish(jobEvents.started(jobId, def.startMessage?.(record) ?? `Iniciando ${def.type}`));
      const results = (await def.handler(ctx)) ?? {};
      await reporter.stop();
      if (leaseLost) return;
      const finished = await jobsRepository.finish(db.orm, jobId, {
        status: 'completed',
        progress: reporter.latest ?? undefined,
        results,
        onlyFrom: ['processing'],
      });
      if (finished) void publish(jobEvents.completed(jobId, results));
      else await this.#announceStop(jobId, publish);
    } catch (err) {
      await reporter.stop();
      if (leaseLost) return;
      if (reporter.latest) await jobsRepository.writeProgress(db.orm, jobId, reporter.latest);
      // Whatever a stopped handler threw (an aborted HTTP call, say), the stop is what happened.
      const stopped = controller.signal.aborted ? new JobStoppedError(controller.signal.reason as StopReason) : err;
      // A release is only this attempt's to make while the job is still its own: one whose queue
      // claim was taken because its lease had expired leaves the job to the attempt that took it.
      if (
        stopped instanceof JobStoppedError &&
        stopped.reason === 'shutdown' &&
        !(await jobsRepository.renewLease(db.orm, jobId, lease, ttl).catch(() => true))
      )
        return;
      await this.#onFailure(def, job, jobId, stopped, ctx.isLastAttempt, publish, log);
    } finally {
      clearInterval(renew);
      this.#running.delete(jobId);
      await jobsRepository.dropLease(db.orm, jobId, lease).catch(() => {});
    }
  }

  #leaseSeconds() {
    return this.#deps.config.JOB_LEASE_SECONDS;
  }

  /**
   * Takes the job for this attempt. While an earlier attempt still holds the lease (it was paused
   * and is finishing its in-flight work as the job is resumed, or its process died a moment ago),
   * waits for it to let go or expire; if it is still held after that, the delivery goes back to the
   * queue for a little later instead of running beside it.
   */
  async #claim(def: JobDefinition, job: Job<QueuedData>, jobId: string, lease: string, ttl: number) {
    const { db, logger } = this.#deps;
    const deadline = Date.now() + (ttl + 2) * 1000;
    for (;;) {
      const record = await jobsRepository.markProcessing(db.orm, jobId, lease, ttl);
      if (record) return record;
      const held = await jobsRepository.leaseHeld(db.orm, jobId);
      if (held === null) return null;
      // The attempt that held it let go between the two looks: the job is free now, and this delivery
      // may be the only one left to run it (a resume sends one, and nothing else will).
      if (!held) continue;
      if (Date.now() > deadline || job.signal.aborted) {
        // A job `processing` under a lease that keeps being renewed is run by a live attempt (this
        // delivery is the queue's late retry of one that was taken over): that attempt keeps it.
        if ((await jobsRepository.get(db.orm, jobId))?.status === 'processing') {
          logger.info({ job: jobId }, 'job already run by a live attempt; this delivery ends');
          return null;
        }
        logger.warn({ job: jobId }, 'job still held by another attempt; queued again for later');
        await this.#requeue(def, job, jobId, 5);
        return null;
      }
      await sleep(200);
    }
  }

  async #onFailure(
    def: JobDefinition,
    job: Job<QueuedData>,
    jobId: string,
    err: unknown,
    lastAttempt: boolean,
    publish: (e: JobEvent) => Promise<void>,
    log: Logger,
  ) {
    const { db } = this.#deps;
    const reason = err instanceof JobStoppedError ? err.reason : null;
    if (reason === 'cancelled' || reason === 'paused') return this.#announceStop(jobId, publish);
    if (reason === 'shutdown') {
      // Released, not failed: it goes back to the queue without spending a retry.
      await jobsRepository.noteRetry(db.orm, jobId, 'released by a stopping process');
      await this.#requeue(def, job, jobId);
      log.info('job released for another worker');
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof PermanentJobError || lastAttempt) {
      log.error({ err: message }, 'job failed');
      const failed = await jobsRepository.finish(db.orm, jobId, { status: 'failed', error: message, onlyFrom: ['processing'] });
      if (failed) await publish(jobEvents.failed(jobId, message));
      return;
    }
    log.warn({ err: message, attempt: job.retryCount }, 'job attempt failed; it will be retried');
    await jobsRepository.noteRetry(db.orm, jobId, message);
    this.#wakeForRetry(def.type, job.id);
    throw err;
  }

  /**
   * Queues the job again as a new delivery. The delivery names the record, so that a scheduled run
   * (whose first delivery carried no record id) goes on with its own record instead of being taken
   * for a new run. Workers are woken at once, as for a new job.
   */
  async #requeue(def: JobDefinition, job: Job<QueuedData>, jobId: string, startAfterSeconds?: number) {
    await this.boss
      .send(def.type, { ...job.data, jobId }, { id: randomUUID(), ...(startAfterSeconds ? { startAfter: startAfterSeconds } : {}) })
      .catch(() => {});
    if (startAfterSeconds) return this.#wakeAt(def.type, Date.now() + startAfterSeconds * 1000);
    await this.#wakeAll(def.type);
  }

  async #announceStop(jobId: string, publish: (e: JobEvent) => Promise<void>) {
    const current = await jobsRepository.get(this.#deps.db.orm, jobId);
    if (current?.status === 'cancelled') await publish(jobEvents.cancelled(jobId, current.progress));
    if (current?.status === 'paused') await publish(jobEvents.paused(jobId, current.progress));
  }

  /** A retry of a scheduled run carries on with the record its first attempt made (found by `queue_job`). */
  async #recordForSchedule(def: JobDefinition, queueJobId: string): Promise<string | null> {
    const { db } = this.#deps;
    return db.orm.transaction(async (tx) => {
      if (def.singleton) {
        await jobsRepository.lockType(tx, def.type);
        const active = await jobsRepository.findActive(tx, def.type);
        if (active) return (active.params as { queue_job?: string }).queue_job === queueJobId ? active.id : null;
      }
      // The queue job's id links the record to it, for the reconciler (jobs.reconciler.ts).
      const row = await jobsRepository.insert(tx, {
        id: randomUUID(),
        type: def.type,
        params: { trigger: 'schedule', queue_job: queueJobId },
        progress: {},
        createdBy: 'schedule',
      });
      return row.id;
    });
  }
}
