import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

/** A port that was free a moment ago (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Why a redis-server of the test's own cannot be started here, or null when the program is on PATH. */
export function redisServerMissing(): string | null {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error ? `redis-server not found on PATH (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message})` : null;
}

/** A redis-server of the test's own, on a fixed port, that can be killed and started again. */
export interface TestRedis {
  url: string;
  port: number;
  /** SIGKILL: an outage, with no goodbye to its clients. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
    proc.stdout!.resume();
  };
  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, start, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/**
 * A TCP proxy in front of a server (PostgreSQL or Redis). `cut()` drops every open connection and
 * refuses new ones, as a network partition or a stopped server would; `restore()` lets them through.
 * `slow(ms)` holds what clients send for `ms` before passing it on (in order), as a congested link.
 */
export interface TcpProxy {
  port: number;
  cut(): void;
  restore(): void;
  slow(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let open = true;
  let delayMs = 0;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (!open) return void client.destroy();
    const upstream = connect(targetPort, targetHost);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const done = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', done);
    // Chunks leave one after the other, each no earlier than its delay: a change of delay keeps the order.
    let passed = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      const at = Date.now() + delayMs;
      passed = passed.then(async () => {
        if (at > Date.now()) await new Promise((r) => setTimeout(r, at - Date.now()));
        if (upstream.writable) upstream.write(chunk);
      });
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    open = false;
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    restore() {
      open = true;
    },
    slow(ms) {
      delayMs = ms;
    },
    async close() {
      cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
