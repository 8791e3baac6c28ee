/**
 * The hash chain of the audit log, and its verification. Each line's `prev` is the hex SHA-256
 * of the previous line's bytes (without the newline); line 1 has 64 zeros. `seq` counts lines
 * from 1. So removing, editing, reordering or inserting a line before the last one breaks the
 * chain at a place verification names; the last line and a cut tail are covered by the head file
 * (`FILE.head`: the seq and hash of the last line written), when it is at hand.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, AuditRecord } from './events.ts';

export const GENESIS = '0'.repeat(64);

export function lineHash(line: string | Uint8Array): string {
  return createHash('sha256').update(line).digest('hex');
}

/** The line for one record, keys in a fixed order (JSON.stringify keeps insertion order). */
export function formatRecord(seq: number, time: string, e: AuditEvent, prev: string): string {
  const r: Record<string, unknown> = { seq, time, who: e.who, action: e.action };
  if (e.secret) r.secret = e.secret;
  if (e.token !== undefined) r.token = e.token;
  if (e.change) r.change = e.change;
  if (e.versions) r.versions = e.versions;
  if (e.task !== undefined) r.task = e.task;
  if (e.service !== undefined) r.service = e.service;
  if (e.node !== undefined) r.node = e.node;
  if (e.volume !== undefined) r.volume = e.volume;
  if (e.version !== undefined) r.version = e.version;
  r.result = e.result;
  if (e.status !== undefined) r.status = e.status;
  if (e.torn) r.torn = e.torn;
  if (e.head) r.head = e.head;
  if (e.acknowledged) r.acknowledged = e.acknowledged;
  if (e.store) r.store = e.store;
  r.prev = prev;
  return JSON.stringify(r);
}

/** What the head file holds: the last line written. */
export interface Head {
  seq: number;
  hash: string;
}

/** The head file's bytes: fixed length, so rewriting it in place never leaves old bytes behind. */
export function formatHead(head: Head): Buffer {
  return Buffer.from(`${JSON.stringify(head).padEnd(127)}\n`);
}

export function parseHead(text: string): Head | undefined {
  try {
    const h = JSON.parse(text) as Partial<Head>;
    return Number.isSafeInteger(h.seq) && typeof h.hash === 'string' && /^[0-9a-f]{64}$/.test(h.hash) ? { seq: h.seq!, hash: h.hash } : undefined;
  } catch {
    return undefined;
  }
}

/** A line as a record, or undefined when it is not one (torn, corrupted, hand-edited JSON). */
export function parseRecord(line: string): AuditRecord | undefined {
  try {
    const r = JSON.parse(line) as Partial<AuditRecord>;
    if (typeof r !== 'object' || r === null) return undefined;
    if (!Number.isSafeInteger(r.seq) || r.seq! < 1 || typeof r.prev !== 'string' || typeof r.action !== 'string' || typeof r.time !== 'string')
      return undefined;
    return r as AuditRecord;
  } catch {
    return undefined;
  }
}

export interface Verification {
  /** Chained lines read (a torn line the daemon marked is not counted). */
  lines: number;
  lastSeq: number;
  lastHash: string;
  /** Things worth knowing that do not break the chain (a marked torn line, an unfinished last line). */
  notes: string[];
  /** The first break, naming its line (1-based, as an editor shows it); absent when intact. */
  problem?: { line: number; message: string };
}

/** Walks the whole file; stops at the first break. */
export function verifyChain(content: Buffer, head?: Head): Verification {
  const text = content.toString('utf8');
  const lines = text.split('\n');
  const unfinished = lines.pop() ?? ''; // '' when the file ends with a newline, as it should
  const v: Verification = { lines: 0, lastSeq: 0, lastHash: GENESIS, notes: [] };
  const fail = (line: number, message: string) => {
    v.problem = { line, message };
    return v;
  };

  // seq → line number of each line that parses, to tell a reorder from a removal.
  const lineOfSeq = new Map<number, number>();
  lines.forEach((l, i) => {
    const r = parseRecord(l);
    if (r && !lineOfSeq.has(r.seq)) lineOfSeq.set(r.seq, i + 1);
  });
  const hashOfSeq = new Map<number, string>();
  let lastLine = 0; // the line number of the last chained line
  let torn: { line: number; bytes: number; sha256: string } | undefined;

  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i]!;
    const r = parseRecord(raw);
    if (torn) {
      if (r?.action !== 'audit.torn' || r.torn?.sha256 !== torn.sha256 || r.torn.bytes !== torn.bytes) {
        return fail(torn.line, `line ${torn.line} is not an audit record (edited or corrupted)`);
      }
      v.notes.push(`line ${torn.line} was torn by a crash; line ${n} records it`);
      torn = undefined;
    } else if (!r) {
      torn = { line: n, bytes: Buffer.byteLength(raw), sha256: lineHash(raw) };
      continue;
    }
    const expected = v.lastSeq + 1;
    if (r!.seq !== expected) {
      if (r!.seq < expected) {
        return fail(n, `line ${n} has seq ${r!.seq}, which line ${lineOfSeq.get(r!.seq)} already has: a line was inserted, copied or moved`);
      }
      const later = lineOfSeq.get(expected);
      if (later !== undefined && later > n)
        return fail(n, `line ${n} has seq ${r!.seq} where ${expected} was expected (seq ${expected} is at line ${later}): lines were reordered`);
      const what = n === 1 ? `the log starts at seq ${r!.seq}` : `line ${n} has seq ${r!.seq} after seq ${v.lastSeq}`;
      const range = r!.seq - 1 === expected ? `seq ${expected} was` : `seq ${expected} to ${r!.seq - 1} were`;
      return fail(n, `${what}: ${range} removed`);
    }
    if (r!.prev !== v.lastHash) {
      return n === 1
        ? fail(1, 'line 1 was edited: its prev is not the start of a chain')
        : fail(lastLine, `line ${lastLine} (seq ${v.lastSeq}) was edited: its hash does not match the prev of line ${n}`);
    }
    v.lines++;
    v.lastSeq = r!.seq;
    v.lastHash = lineHash(raw);
    hashOfSeq.set(v.lastSeq, v.lastHash);
    lastLine = n;
  }
  if (torn) return fail(torn.line, `line ${torn.line} is not an audit record (edited or corrupted)`);
  if (unfinished !== '') v.notes.push(`line ${lines.length + 1} is unfinished (being written, or torn by a crash: the daemon marks it when it next starts)`);
  if (head) {
    if (head.seq > v.lastSeq) {
      return fail(lastLine + 1, `the head file records seq ${head.seq} but the log ends at seq ${v.lastSeq}: lines were removed from the end`);
    }
    if (hashOfSeq.get(head.seq) !== head.hash) {
      return fail(lineOfSeq.get(head.seq) ?? lastLine, `the line with seq ${head.seq} is not the one the head file records: it was edited`);
    }
  }
  return v;
}
