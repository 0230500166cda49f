// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by area.
import { readFileSync } from 'node:fs';

function area(url, fn) {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)';
  if (url.includes('/node_modules/ws/')) return 'ws';
  if (url.includes('/node_modules/@azure/') || url.includes('/node_modules/@typespec/')) return '@azure sdk';
  if (url.includes('/node_modules/')) return `npm:${url.split('/node_modules/').pop().split('/')[0]}`;
  const m = /\/dist\/([^/]+)\//.exec(url);
  if (m) return `arcproxy dist/${m[1]}`;
  if (url.startsWith('node:')) {
    const mod = url
      .slice(5)
      .replace(/^internal\//, '')
      .split('/')[0]
      .replace(/\.js$/, '');
    return `node:${mod}`;
  }
  return url;
}

export function summarise(file, top = 20) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const totalUs = p.endTime - p.startTime;
  const interval = totalUs / Math.max(1, p.samples.length);
  const byFn = new Map();
  const byArea = new Map();
  let busy = 0;
  for (const n of p.nodes) {
    if (!n.hitCount) continue;
    const us = n.hitCount * interval;
    const cf = n.callFrame;
    const fn = cf.functionName || '(anonymous)';
    const a = area(cf.url, fn);
    if (fn !== '(idle)') busy += us;
    const key = `${fn} ${cf.url ? `${cf.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${cf.lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
  }
  const sort = (m) => [...m.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((x, y) => y[1] - x[1]);
  return {
    file,
    wallMs: totalUs / 1000,
    busyMs: busy / 1000,
    areas: sort(byArea)
      .slice(0, top)
      .map(([k, us]) => ({ area: k, ms: +(us / 1000).toFixed(1), pctOfBusy: +((100 * us) / busy).toFixed(1) })),
    functions: sort(byFn)
      .slice(0, top)
      .map(([k, us]) => ({ fn: k, ms: +(us / 1000).toFixed(1), pctOfBusy: +((100 * us) / busy).toFixed(1) })),
  };
}

export function printSummary(s, log = console.log) {
  log(`profile ${s.file}: wall ${s.wallMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms`);
  log('  by area:');
  for (const a of s.areas) log(`    ${a.pctOfBusy.toFixed(1).padStart(5)} %  ${a.ms.toFixed(1).padStart(8)} ms  ${a.area}`);
  log('  by function (self):');
  for (const f of s.functions) log(`    ${f.pctOfBusy.toFixed(1).padStart(5)} %  ${f.ms.toFixed(1).padStart(8)} ms  ${f.fn}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of process.argv.slice(2)) printSummary(summarise(f, 30));
}
