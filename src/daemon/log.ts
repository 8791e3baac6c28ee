/**
 * Structured JSON logs on stderr (pino). Values never reach a log: request lines carry only
 * method, path, status and time, and known sensitive field names are redacted on top.
 */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['data', 'Data', '*.data', '*.Data', 'value', '*.value'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
