import { freshStorage, startPuente, testEnv, type Storage, type TestPuente } from './puente.ts';
import { spawnPuente, type PuenteProcess } from './spawn.ts';
import { startTestRedis, type TestRedis } from './faults.ts';

/** Two server processes on one fresh PostgreSQL database and a Redis of their own (so that it can be stopped). */
export interface TwoNodes {
  storage: Storage;
  redis: TestRedis;
  /** In the test's process. */
  a: TestPuente;
  /** A child process. */
  b: PuenteProcess;
  close(): Promise<void>;
}

export async function startTwoNodes(extraEnv: Record<string, string> = {}): Promise<TwoNodes> {
  const storage = await freshStorage('scaled');
  const redis = await startTestRedis();
  const env = testEnv({ ...storage.env, REDIS_URL: redis.url, ...extraEnv });
  const a = await startPuente(env);
  const b = await spawnPuente(['serve'], env);
  return {
    storage,
    redis,
    a,
    b,
    async close() {
      await b.stop();
      await a.close();
      await redis.stop();
      await storage.dispose();
    },
  };
}
