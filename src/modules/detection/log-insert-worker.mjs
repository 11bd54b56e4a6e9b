// The log-insert thread's plain-JS bootstrap: worker threads do not inherit the tsx loader the CLI
// registered, so it registers tsx here, then loads the TypeScript worker (as series-worker.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./log-insert.worker.ts');
