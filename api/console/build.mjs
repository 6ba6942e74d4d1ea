// Bundles the console (Leaflet + our modules) into api/static/console/, where the service
// serves it from. Run by `npm run build`, which setup.py's build_py runs on every pip install.
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'static', 'console');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  entryPoints: { console: join(here, 'src', 'main.js'), style: join(here, 'console.css') },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  outdir: out,
  // Leaflet's CSS names a few images; ship them next to the bundle instead of inlining.
  loader: { '.png': 'file', '.svg': 'file' },
  legalComments: 'linked', // keeps Leaflet's licence with the bundle
  logLevel: 'warning',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
