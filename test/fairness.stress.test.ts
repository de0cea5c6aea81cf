// npm run stress: the fairness scenarios of test/fairness.ts with 5x the rounds.
import { fairnessSuite } from './fairness';

fairnessSuite(5);
