import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProgressLine, progressFor, type Ticker } from '../../../src/cli/progress.js';
import { HumanReporter } from '../../../src/cli/reporter.js';

/** A writable that keeps everything written to it. */
function sink(): Writable & { text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return Object.assign(w, { text: () => text });
}

/** A clock and a ticker the test moves by hand. */
function manual() {
  let now = 0;
  const ticks = new Set<() => void>();
  const ticker: Ticker = (fn) => {
    ticks.add(fn);
    return () => ticks.delete(fn);
  };
  return {
    now: () => now,
    ticker,
    advance(ms: number) {
      now += ms;
      for (const fn of ticks) fn();
    },
    running: () => ticks.size,
  };
}

const ERASE = '\r\x1b[2K';
// eslint-disable-next-line no-control-regex -- ESC is what these match
const SGR = /\x1b\[[0-9;]*m/;
// eslint-disable-next-line no-control-regex -- ESC is what these match
const SGR_ALL = /\x1b\[[0-9;]*m/g;
const visible = (s: string) => s.split(ERASE).at(-1)!.replace(SGR_ALL, '');

describe('ProgressLine on a terminal', () => {
  it('shows each stage with its elapsed time, rewritten in place', () => {
    const out = sink();
    const clock = manual();
    const p = new ProgressLine({ out, live: true, color: false, now: clock.now, ticker: clock.ticker });

    p.stage('Signing in');
    expect(visible(out.text())).toMatch(/^. Signing in… 0\.0s$/);
    clock.advance(1_250);
    expect(visible(out.text())).toMatch(/^. Signing in… 1\.3s$/);
    p.stage('Resolving the cluster');
    // A new stage restarts the clock, on the same line.
    expect(visible(out.text())).toMatch(/^. Resolving the cluster… 0\.0s$/);
    expect(out.text()).not.toContain('\n');
  });

  it('erases the line and stops redrawing when done', () => {
    const out = sink();
    const clock = manual();
    const p = new ProgressLine({ out, live: true, color: false, now: clock.now, ticker: clock.ticker });
    p.stage('Fetching relay credentials');
    p.done();
    expect(out.text().endsWith(ERASE)).toBe(true);
    expect(clock.running()).toBe(0);
    const before = out.text();
    clock.advance(500);
    expect(out.text()).toBe(before);
  });

  it('writes other output on a clean line, then draws the stage again below it', () => {
    const out = sink();
    const clock = manual();
    const p = new ProgressLine({ out, live: true, color: false, now: clock.now, ticker: clock.ticker });
    p.stage('Signing in');
    p.interrupt(() => out.write('To sign in, use a web browser...\n'));
    const text = out.text();
    const prompt = text.indexOf('To sign in');
    expect(text.slice(0, prompt).endsWith(ERASE)).toBe(true);
    expect(visible(text.slice(prompt))).toMatch(/Signing in… 0\.0s$/);
  });

  it('colours the spinner and time only when colour is allowed', () => {
    const coloured = sink();
    new ProgressLine({ out: coloured, live: true, color: true, ticker: manual().ticker }).stage('Signing in');
    expect(coloured.text()).toMatch(SGR);
    const plain = sink();
    new ProgressLine({ out: plain, live: true, color: false, ticker: manual().ticker }).stage('Signing in');
    expect(plain.text()).not.toMatch(SGR);
    expect(plain.text()).toContain('Signing in');
  });
});

describe('progressFor', () => {
  const draw = (isTty: boolean, env: NodeJS.ProcessEnv) => {
    const out = sink();
    const p = progressFor(out, isTty, env);
    p.stage('Signing in');
    p.done();
    return out.text();
  };

  it('draws nothing without a terminal, or on a dumb one', () => {
    expect(draw(false, {})).toBe('');
    expect(draw(true, { TERM: 'dumb' })).toBe('');
  });

  it.each([{ NO_COLOR: '1' }, { FORCE_COLOR: '0' }, { FORCE_COLOR: 'false' }])('respects %o but still rewrites the line', (env) => {
    const text = draw(true, { ...env, TERM: 'xterm' });
    expect(text).toContain('Signing in');
    expect(text).not.toMatch(SGR);
    expect(draw(true, { TERM: 'xterm' })).toMatch(SGR);
    expect(draw(true, { TERM: 'xterm', FORCE_COLOR: '1' })).toMatch(SGR);
  });
});

describe('HumanReporter with a live line', () => {
  function reporter(opts: { debug?: boolean } = {}) {
    const out = sink();
    const err = sink();
    const clock = manual();
    const progress = new ProgressLine({ out: err, live: true, color: false, now: clock.now, ticker: clock.ticker });
    return { out, err, clock, r: new HumanReporter(out, err, opts.debug ?? false, progress) };
  }

  it('erases the line before the az-style status lines and leaves none behind', () => {
    const { out, err, clock, r } = reporter();
    r.stage('Opening the local listener');
    r.stage('Signing in');
    clock.advance(300);
    r.listening(47011);
    expect(err.text().endsWith(ERASE)).toBe(true);
    expect(out.text()).toBe('Proxy is listening on port 47011\n');
    expect(clock.running()).toBe(0);
  });

  it('erases the line before a start-up error is printed', () => {
    const { err, clock, r } = reporter();
    r.stage('Resolving the cluster');
    r.error();
    expect(err.text().endsWith(ERASE)).toBe(true);
    expect(clock.running()).toBe(0);
  });

  it('with --debug keeps one timestamped line per stage instead', () => {
    const { err, clock, r } = reporter({ debug: true });
    r.stage('Signing in');
    r.stage('Resolving the cluster');
    expect(err.text()).not.toContain(ERASE);
    expect(err.text().split('\n').filter(Boolean)).toEqual([expect.stringMatching(/\] Signing in…$/), expect.stringMatching(/\] Resolving the cluster…$/)]);
    expect(clock.running()).toBe(0);
  });

  it('says nothing about Ctrl+C in run mode', () => {
    const { out, r } = reporter();
    r.ready({ port: 1, context: 'demo', kubeconfig: '/tmp/k', server: 'https://127.0.0.1:1/x', mode: 'run' });
    expect(out.text()).toBe('');
    r.ready({ port: 1, context: 'demo', kubeconfig: '/tmp/k', server: 'https://127.0.0.1:1/x', mode: 'foreground' });
    expect(out.text()).toContain('Press Ctrl+C to close proxy.');
  });
});
