/**
 * Rate-limited warnings, for events a peer can cause at will (refused TLS handshakes, connections
 * shed at a listener's cap): the first few of each window are logged, the rest only counted,
 * and the count is logged with the next one that gets through. A flood costs one line per window.
 */
export type Throttle<T> = (detail: T) => void;

/** At most `perWindow` calls of `emit` per `windowMs`; `emit` is told how many were dropped before. */
export function throttle<T>(emit: (detail: T, dropped: number) => void, perWindow = 10, windowMs = 10_000, now = () => Date.now()): Throttle<T> {
  let windowStart = -Infinity;
  let used = 0;
  let dropped = 0;
  return (detail) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      windowStart = t;
      used = 0;
    }
    if (used >= perWindow) {
      dropped++;
      return;
    }
    used++;
    emit(detail, dropped);
    dropped = 0;
  };
}
