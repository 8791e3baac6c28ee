/**
 * Durability for the SQLite store off the event loop. The database runs in WAL mode with
 * synchronous=NORMAL, so a COMMIT only writes its frames to the WAL file; this makes them
 * durable with an fdatasync of that file on libuv's thread pool, which is what
 * synchronous=FULL would have done inside COMMIT, on the event loop, blocking every other
 * request for the length of a disk flush. One fdatasync runs at a time; commits made while it
 * runs share the next one (group commit), so a loaded daemon pays one flush per batch.
 */
import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const datasync = promisify(fdatasync);

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class WalSync {
  private fd: number | undefined;
  private running = false;
  private runs = 0;
  private waiting: Waiter[] = [];
  private idle: (() => void)[] = [];

  private readonly walFile: string;
  constructor(walFile: string) {
    this.walFile = walFile;
  }

  /** Settles once every frame committed before the call is on disk. */
  committed(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) void this.run();
    });
  }

  /** How many flushes have run (each one fdatasync of the WAL file). */
  get flushes(): number {
    return this.runs;
  }

  /** Whether a flush is running now. */
  get flushing(): boolean {
    return this.running;
  }

  /** Waits for the syncs asked for so far, then lets go of the WAL file. */
  async close(): Promise<void> {
    if (this.running) await new Promise<void>((resolve) => this.idle.push(resolve));
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      this.runs++;
      try {
        await datasync(this.open());
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.running = false;
    for (const done of this.idle.splice(0)) done();
  }

  /** The WAL file, opened once; its folder entry is made durable the first time. */
  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.walFile, 'r');
      const dir = openSync(dirname(this.walFile), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.fd;
  }
}
