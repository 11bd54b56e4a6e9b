import pino, { type Logger } from 'pino';
import type { Config } from './config/index.ts';

export function createLogger(log: Config['log']): Logger {
  return pino({
    level: log.level,
    redact: { paths: ['req.headers.authorization', '*.password', '*.access_token', '*.refresh_token'], remove: true },
    ...(log.pretty && {
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    }),
  });
}
