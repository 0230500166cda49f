/** What a generated pod log (seed `logBytes`) must be, built the slow, obvious way. */
import { GENERATED_LINE_BYTES, generatedLine } from '../../src/emulator/apiserver/generated-log.js';

/** Whole numbered lines cut at `totalBytes`, the short last one still ending in a newline. */
export function expectedGeneratedLog(totalBytes: number): string {
  let text = '';
  for (let n = 1; text.length < totalBytes; n++) text += generatedLine(n);
  text = text.slice(0, totalBytes);
  return totalBytes % GENERATED_LINE_BYTES ? `${text.slice(0, -1)}\n` : text;
}
