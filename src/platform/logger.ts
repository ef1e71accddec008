import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import type { Config } from './config.ts';

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
const redactPaths = [
  'password',
  '*.password',
  'password2',
  '*.password2',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'accesskey',
  '*.accesskey',
  'apiKey',
  '*.apiKey',
  'refresh_token',
  '*.refresh_token',
  'client_secret',
  '*.client_secret',
  'access_token',
  '*.access_token',
  'req.headers.authorization',
  'req.headers.apikey',
  'req.headers["x-api-key"]',
  'headers.authorization',
];

export function createLogger(config: Pick<Config, 'LOG_LEVEL'>, name = 'puente'): Logger {
  const pretty = process.stdout.isTTY && process.env.NODE_ENV !== 'production';
  return pino({
    name,
    level: config.LOG_LEVEL,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname' } } } : {}),
  });
}

export type { Logger };

/**
 * Everything at `LOG_LEVEL` to `file`, and only warnings and errors to the terminal: for `puente
 * demo`, whose terminal shows its banner and the jobs' progress, not every request.
 */
export function createFileLogger(config: Pick<Config, 'LOG_LEVEL'>, file: string, name = 'puente'): Logger {
  const streams: { level: string; stream: NodeJS.WritableStream | ReturnType<typeof pino.destination> }[] = [
    { level: config.LOG_LEVEL === 'silent' ? 'fatal' : config.LOG_LEVEL, stream: pino.destination({ dest: file, mkdir: true, sync: false }) },
    { level: 'warn', stream: process.stderr.isTTY ? pinoPretty({ destination: 2, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' }) : process.stderr },
  ];
  return pino({ name, level: config.LOG_LEVEL, redact: { paths: redactPaths, censor: '[redacted]' } }, pino.multistream(streams as never));
}
