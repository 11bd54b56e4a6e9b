// Piscina loads this plain-JS bootstrap: worker threads do not inherit the tsx loader the CLI
// registered, so it registers tsx here, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
const worker = await import('./series.worker.ts');

export default worker.default;
