/** Errors with a `code`, as Node's own errors carry one. */
export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(`fastipc: ${message}`), { code });
}

/** The memory under a primitive was closed (SharedMemory#close) while it was in use. */
export function closedError(): Error & { code: string } {
  return codedError('ERR_FASTIPC_CLOSED', 'the memory was closed while a wait was pending');
}
