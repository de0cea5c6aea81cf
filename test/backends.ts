// The memories and backends that every contract suite runs against.
import { SharedMemory } from '../lib';
import type { BackendName } from '../lib';
import { type MemorySpec, uniqueName } from './helpers';

export interface Setup {
  /** For the primitive in this thread. */
  memory: ArrayBuffer | SharedArrayBuffer;
  /** For fixtures in workers and child processes. */
  spec: MemorySpec;
  backend: BackendName;
  close(): void;
}

export interface Variant {
  name: string;
  /** Whether other processes can share the memory (SharedMemory); workers always can. */
  crossProcess: boolean;
  setup(size?: number): Setup;
}

export const variants: Variant[] = [
  {
    name: 'atomics over SharedArrayBuffer',
    crossProcess: false,
    setup(size = 4096) {
      const sab = new SharedArrayBuffer(size);
      return { memory: sab, spec: { sab }, backend: 'atomics', close() {} };
    },
  },
  {
    name: 'futex over SharedMemory',
    crossProcess: true,
    setup(size = 4096) {
      const name = uniqueName('shm');
      const shm = SharedMemory.open(name, { size });
      return {
        memory: shm.buffer,
        spec: { shm: name, size },
        backend: 'futex',
        close() {
          shm.close(); // the last user's close unlinks the segment
        },
      };
    },
  },
  {
    name: 'hybrid over SharedArrayBuffer',
    crossProcess: false,
    setup(size = 4096) {
      const sab = new SharedArrayBuffer(size);
      return { memory: sab, spec: { sab }, backend: 'hybrid', close() {} };
    },
  },
  {
    name: 'futex over SharedArrayBuffer',
    crossProcess: false,
    setup(size = 4096) {
      const sab = new SharedArrayBuffer(size);
      return { memory: sab, spec: { sab }, backend: 'futex', close() {} };
    },
  },
];
