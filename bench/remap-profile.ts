/**
 * A `--cpu-prof` profile of a start from the V8 startup snapshot names one file for all the code
 * in it, `dist/snapshot/deputy.js` (src/README.md D47), so `bench/profile-top.ts` cannot tell zod
 * from the SDK from Deputy. This rewrites each such frame to the source file and line the
 * bundle's map gives, next to the input as `*.mapped.cpuprofile`, for profile-top to read:
 *
 *   npx tsx bench/start-ab.ts --rounds 3 'snap=dist:--snapshot-blob=dist/snapshot/deputy.blob,--cpu-prof,--cpu-prof-dir=/tmp/prof'
 *   npx tsx bench/remap-profile.ts dist/snapshot/deputy.js /tmp/prof/*.cpuprofile
 *   npx tsx bench/profile-top.ts /tmp/prof/*.mapped.cpuprofile
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';

interface Frame {
  url: string;
  lineNumber: number;
  columnNumber: number;
}

const [bundle, ...profiles] = process.argv.slice(2);
if (!bundle || profiles.length === 0) throw new Error('usage: remap-profile.ts BUNDLE.js PROFILE.cpuprofile…');
const map = new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
const name = resolve(bundle);

for (const file of profiles.filter((p) => !p.endsWith('.mapped.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: { callFrame: Frame }[] };
  let mapped = 0;
  for (const { callFrame: frame } of profile.nodes) {
    // Profiles name the bundle as it was when the blob was built: compare by its path's end.
    if (!frame.url.endsWith(name.slice(name.lastIndexOf('/snapshot/')))) continue;
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
    if (!('originalSource' in entry) || !entry.originalSource) continue;
    frame.url = resolve(dirname(name), entry.originalSource);
    frame.lineNumber = entry.originalLine;
    frame.columnNumber = entry.originalColumn;
    mapped++;
  }
  const out = file.replace(/\.cpuprofile$/, '.mapped.cpuprofile');
  writeFileSync(out, JSON.stringify(profile));
  process.stdout.write(`${out}: ${mapped} frames mapped\n`);
}
