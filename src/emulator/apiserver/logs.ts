/**
 * pods/log: the pod's generated log if it has one (streamed with backpressure), then its bounded
 * history of written lines (tailLines and limitBytes apply to the two as one log; timestamps),
 * then, with follow=true, each new line as it is written, until the client goes, the pod stops,
 * limitBytes is reached or the server ends the response.
 */
import type { ServerResponse } from 'node:http';
import type { EmulatedPod, LogLine } from './pod-runtime.js';
import { sendStatus } from './status.js';
import { startStream } from './http.js';
import { LOG_INTS, queryBool, queryInts } from './query.js';
import { generatedLineCount, generatedLogChunks } from './generated-log.js';
import { LogOutput } from './log-output.js';

/** ValidatePodLogOptions' order; the first broken rule is reported. */
const LIMIT_RULES = [
  { name: 'tailLines', min: 0, rule: 'must be greater than or equal to 0' },
  { name: 'limitBytes', min: 1, rule: 'must be greater than 0' },
  { name: 'sinceSeconds', min: 1, rule: 'must be greater than 0' },
] as const;

type LogLimits = Partial<Record<(typeof LOG_INTS)[number], number>>;

/**
 * The integers of PodLogOptions as the apiserver decodes them (not an integer: QueryError, a 400),
 * then validates them (out of range: 422 Invalid, sent here; undefined is returned).
 */
function readLimits(res: ServerResponse, query: URLSearchParams, podName: string): LogLimits | undefined {
  const limits: LogLimits = queryInts(query, LOG_INTS);
  for (const { name, min, rule } of LIMIT_RULES) {
    const value = limits[name];
    if (value !== undefined && value < min) {
      sendStatus(res, 422, 'Invalid', `PodLogOptions "${podName}" is invalid: ${name}: Invalid value: ${value}: ${rule}`, {
        name: podName,
        kind: 'PodLogOptions',
      });
      return undefined;
    }
  }
  return limits;
}

export function servePodLog(res: ServerResponse, pod: EmulatedPod, query: URLSearchParams): void {
  const container = query.get('container');
  if (!container && pod.containers.length > 1) {
    return sendStatus(res, 400, 'BadRequest', `a container name must be specified for pod ${pod.name}, choose one of: [${pod.containers.join(' ')}]`);
  }
  if (container && !pod.containers.includes(container)) {
    return sendStatus(res, 400, 'BadRequest', `container ${container} is not valid for pod ${pod.name}`);
  }
  const limits = readLimits(res, query, pod.name);
  if (!limits) return;
  const timestamps = queryBool(query, 'timestamps');
  const follow = queryBool(query, 'follow');
  const format = (l: LogLine) => `${timestamps ? `${l.time.toISOString()} ` : ''}${l.text}\n`;

  // A copy: lines written while the generated part streams arrive through 'log' instead.
  let history = [...pod.logHistory()];
  let firstGeneratedLine = 1;
  if (limits.tailLines !== undefined) {
    history = history.slice(Math.max(0, history.length - limits.tailLines));
    firstGeneratedLine = generatedLineCount(pod.generatedLogBytes) - (limits.tailLines - history.length) + 1;
  }

  startStream(res, 'text/plain');
  const out = new LogOutput(res, limits.limitBytes);
  // Followed lines logged before the earlier parts are written wait here, in order.
  let waiting: LogLine[] | undefined = [];
  if (follow) {
    const onLog = (l: LogLine) => (waiting ? waiting.push(l) : out.write(format(l)));
    const onStop = () => res.end();
    pod.on('log', onLog);
    pod.once('stopped', onStop);
    res.once('close', () => {
      pod.off('log', onLog);
      pod.off('stopped', onStop);
    });
  }
  const prefix = timestamps ? `${pod.startedAt.toISOString()} ` : '';
  out.pump(generatedLogChunks(pod.generatedLogBytes, firstGeneratedLine, prefix), () => {
    for (const l of history) out.write(format(l));
    if (!follow) {
      if (!out.closed) res.end();
      return;
    }
    for (const l of waiting ?? []) out.write(format(l));
    waiting = undefined;
  });
}
