/**
 * pods/log: the pod's bounded history (tailLines, timestamps), then, with follow=true, each new
 * line as it is written, until the client goes, the pod stops or the server ends the response.
 */
import type { ServerResponse } from 'node:http';
import type { EmulatedPod, LogLine } from './pod-runtime.js';
import { sendStatus } from './status.js';
import { startStream, truthy } from './http.js';

export function servePodLog(res: ServerResponse, pod: EmulatedPod, query: URLSearchParams): void {
  const container = query.get('container');
  if (!container && pod.containers.length > 1) {
    return sendStatus(res, 400, 'BadRequest', `a container name must be specified for pod ${pod.name}, choose one of: [${pod.containers.join(' ')}]`);
  }
  if (container && !pod.containers.includes(container)) {
    return sendStatus(res, 400, 'BadRequest', `container ${container} is not valid for pod ${pod.name}`);
  }
  const timestamps = truthy(query.get('timestamps'));
  const format = (l: LogLine) => `${timestamps ? `${l.time.toISOString()} ` : ''}${l.text}\n`;
  const tail = query.get('tailLines');
  let history = pod.logHistory();
  if (tail !== null && /^\d+$/.test(tail)) history = history.slice(Math.max(0, history.length - Number(tail)));

  startStream(res, 'text/plain');
  for (const l of history) res.write(format(l));
  if (!truthy(query.get('follow'))) {
    res.end();
    return;
  }
  const onLog = (l: LogLine) => res.write(format(l));
  const onStop = () => res.end();
  pod.on('log', onLog);
  pod.once('stopped', onStop);
  res.once('close', () => {
    pod.off('log', onLog);
    pod.off('stopped', onStop);
  });
}
