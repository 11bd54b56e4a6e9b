// Prints the top functions by self time of `.cpuprofile` files (from `node --cpu-prof` or
// `npm run bench:realtime -- --profile DIR`):  node --import tsx scripts/cpuprofile-top.ts FILE… [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { summariseProfile, type CpuProfile } from '../bench/support/profile-summary.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
if (positionals.length === 0) {
  console.error('usage: node --import tsx scripts/cpuprofile-top.ts FILE.cpuprofile… [--top N]');
  process.exit(2);
}
for (const file of positionals) {
  console.log(`${file}\n${summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top))}\n`);
}
