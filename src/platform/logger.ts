import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const redactPaths = [
  'password', '*.password', 'password2', '*.password2', 'secret', '*.secret', 'token', '*.token',
  'accesskey', '*.accesskey', 'apiKey', '*.apiKey', 'refresh_token', '*.refresh_token',
  'client_secret', '*.client_secret', 'access_token', '*.access_token',
  'req.headers.authorization', 'req.headers.apikey', 'req.headers["x-api-key"]', 'headers.authorization',
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
