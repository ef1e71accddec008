import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface PuenteProcess {
  child: ChildProcess;
  /** Set for `serve`: the URL it listens on. */
  url: string | null;
  output: string[];
  /** SIGTERM and wait (graceful). */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

/** Runs `puente <args>` as a separate process (another node of a scaled-out deployment). */
export async function spawnPuente(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<PuenteProcess> {
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // Resolved once its output has been read to the end too (or a second after it exited), with how it
  // ended said in that output: a failure message shows a death by signal, and everything it printed.
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      let said = false;
      const done = () => {
        if (said) return;
        said = true;
        output.push(`\n[puente ${args.join(' ')} exited: code ${code}, signal ${signal}]\n`);
        resolve(code);
      };
      const timer = setTimeout(done, 1000);
      child.once('close', () => {
        clearTimeout(timer);
        done();
      });
    }),
  );
  const ready = new Promise<string | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`puente ${args.join(' ')} did not start:\n${output.join('')}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output.push(text);
      const listening = /Puente listening on (http:\/\/[^\s(]+)/.exec(text);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]!);
      } else if (/Puente worker running/.test(text)) {
        clearTimeout(timer);
        resolve(null);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`puente ${args.join(' ')} exited with ${code}:\n${output.join('')}`));
    });
  });
  const url = await ready.catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    child,
    url,
    output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
