import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SignalWatch, signalExitCode } from '../../../src/cli/signals.js';

describe('SignalWatch', () => {
  it('resolves with the first stop signal and passes every signal to listeners', async () => {
    const signals = new EventEmitter();
    const watch = new SignalWatch(signals);
    const seen: string[] = [];
    watch.onSignal((s) => seen.push(s));
    expect(watch.received).toBeUndefined();
    signals.emit('SIGTERM');
    signals.emit('SIGINT');
    expect(await watch.first).toBe('SIGTERM');
    expect(watch.received).toBe('SIGTERM');
    expect(seen).toEqual(['SIGTERM', 'SIGINT']);
  });

  it('holds SIGINT, SIGTERM and SIGHUP until disposed, then gives them back', () => {
    const signals = new EventEmitter();
    const watch = new SignalWatch(signals);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(signals.listenerCount(s)).toBe(1);
    watch.dispose();
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) expect(signals.listenerCount(s)).toBe(0);
  });

  it('a listener can stop listening', () => {
    const signals = new EventEmitter();
    const watch = new SignalWatch(signals);
    let calls = 0;
    const stop = watch.onSignal(() => calls++);
    signals.emit('SIGHUP');
    stop();
    signals.emit('SIGHUP');
    expect(calls).toBe(1);
  });
});

describe('signalExitCode', () => {
  it('is 128 + the signal number, as shells report it', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(signalExitCode('SIGHUP')).toBe(129);
    expect(signalExitCode('SIGKILL')).toBe(137);
  });

  it('knows every signal of the platform, not only the stop signals', () => {
    expect(signalExitCode('SIGQUIT')).toBe(131);
    expect(signalExitCode('SIGABRT')).toBe(134);
    expect(signalExitCode('SIGPIPE')).toBe(141);
  });
});
