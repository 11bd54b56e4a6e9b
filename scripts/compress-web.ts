// Writes .br and .gz twins of the built dashboard's text assets, so the server sends them
// precompressed (@fastify/static `preCompressed`) without compressing on every request.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dir = path.resolve(process.argv[2] ?? 'dist-web');
const compressible = /\.(js|css|html|svg|json|txt|map)$/;

function* files(d: string): Generator<string> {
  for (const name of readdirSync(d)) {
    const p = path.join(d, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (compressible.test(name)) yield p;
  }
}

let raw = 0;
let gz = 0;
let br = 0;
for (const file of files(dir)) {
  const data = readFileSync(file);
  const g = gzipSync(data, { level: 9 });
  const b = brotliCompressSync(data, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
  writeFileSync(`${file}.gz`, g);
  writeFileSync(`${file}.br`, b);
  raw += data.length;
  gz += g.length;
  br += b.length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`dashboard assets: ${kib(raw)} raw, ${kib(gz)} gzip, ${kib(br)} brotli`);
