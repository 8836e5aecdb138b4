import { createCache } from './create-cache';
import { createInProcessBackend } from './in-process/in-process-backend';
import { describeCacheContract } from './testing/cache-contract';

// Each test gets a fresh backend; clients opened on it share it, like replicas share Redis.
describeCacheContract('in-process', () => {
  const backend = createInProcessBackend();
  return {
    open: (options = {}) => createCache({ inProcessBackend: backend, ...options }),
  };
});
