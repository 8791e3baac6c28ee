/**
 * What one render may spend, beyond Go's own rules: evaluation steps, output bytes, bytes
 * allocated for intermediate values (every string a builtin or function produces counts, kept
 * or not), and wall-clock time. A doubling template (`$x = print $x $x`, 23 times, then
 * `printf "%q"`) took 35 s and 2.3 GB before these bounds; now it stops at the byte budget.
 */

/** Shared by one render and every nested render it starts (Swarm's `.Expand`). */
export interface Budget {
  steps: number;
  maxSteps: number;
  outBytes: number;
  maxOutputBytes: number;
  /** Bytes produced so far by builtins, functions, methods and output, cumulatively. */
  allocBytes: number;
  maxAllocBytes: number;
  /** performance.now() past which the render stops. */
  deadline: number;
  timeoutMs: number;
}

/**
 * Thrown by formatting and escaping code once what it is building passes the room it was
 * given, so that an oversized value is never built in full.
 */
export class OverBudget extends Error {
  constructor() {
    super('over the byte budget');
  }
}

/** Throws OverBudget once `length` passes `room`. */
export function fits(length: number, room: number): void {
  if (length > room) throw new OverBudget();
}
