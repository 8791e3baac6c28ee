/**
 * Logs on stderr (pino): JSON lines by default, for machines, or with --log-format text one
 * readable line per record for humans (`TIME LEVEL message key=value …`). Values never reach a
 * log: request lines carry only method, path, status and time, and known sensitive field names
 * are redacted on top, before either format is written.
 */
import { writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

export type LogFormat = 'json' | 'text';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export function createLogger(level: string, format: LogFormat = 'json', fd = 2): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['data', 'Data', '*.data', '*.Data', 'value', '*.value'], censor: '[redacted]' },
      ...(format === 'text' ? { timestamp: pino.stdTimeFunctions.isoTime } : {}),
    },
    format === 'text' ? textDestination(fd) : pino.destination({ dest: fd, sync: true }),
  );
}

/** Each JSON record pino wrote (already redacted), rewritten as one line; written synchronously. */
function textDestination(fd: number): DestinationStream {
  return {
    write(chunk: string) {
      const out = chunk
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => `${textLine(l)}\n`)
        .join('');
      writeSync(fd, out);
    },
  };
}

/** `2026-01-02T03:04:05.678Z INFO listening addresses=[…] dataRoot=/srv`: never more than one line. */
export function textLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return word(json);
  }
  const { time, level, msg, pid: _pid, ...fields } = record;
  const head = [String(time ?? ''), LEVELS[level as number] ?? String(level)];
  if (msg !== undefined) head.push(typeof msg === 'string' && !msg.includes('\n') ? msg : JSON.stringify(msg));
  return [...head, ...Object.entries(fields).map(([k, v]) => `${word(k)}=${word(v)}`)].join(' ');
}

/** A value as one word: plain when it reads as one, else JSON (quoted and escaped). */
function word(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}
