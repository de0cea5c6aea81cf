/**
 * Keeps the event loop alive while async waits are pending, as a pending timer does:
 * Atomics.waitAsync promises do not (nodejs/node#61941). One ref'd interval per thread,
 * unref'd when the count drops to zero (shared by every copy of the library in the thread).
 */
import { threadState } from '../core/thread-state';

export function holdLoop(delta: 1 | -1): void {
  const k = threadState().keepalive;
  k.pending += delta;
  if (k.pending > 0) {
    k.timer ??= setInterval(() => {}, 2 ** 31 - 1);
    k.timer.ref();
  } else {
    k.timer?.unref();
  }
}
