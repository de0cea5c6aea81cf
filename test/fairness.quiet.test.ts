// Under load no waiter starves: bounded waits for Mutex and Semaphore, async in one
// thread, async across processes, sync across workers (scenarios in test/fairness.ts).
// In the quiet phase of npm test: the bounds measure fastipc, not other test files.
import { fairnessSuite } from './fairness';

fairnessSuite(1);
