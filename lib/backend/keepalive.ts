/**
 * Keeps the event loop alive while async waits are pending, as a pending timer does:
 * Atomics.waitAsync promises do not (nodejs/node#61941). One ref'd interval per thread,
 * unref'd when the count drops to zero.
 */
let pending = 0;
let timer: NodeJS.Timeout | undefined;

export function holdLoop(delta: 1 | -1): void {
  pending += delta;
  if (pending > 0) {
    timer ??= setInterval(() => {}, 2 ** 31 - 1);
    timer.ref();
  } else {
    timer?.unref();
  }
}
