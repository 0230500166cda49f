/**
 * `arcproxy diagnose -n NAME -g RG`: runs start-up's exchanges with Azure one by one and prints
 * the report (stdout; device-code prompts and the live stage line go to stderr). Exits 0 when
 * every stage passed, else with the exit code of the first failing stage's error. Opens no
 * listener and writes no kubeconfig.
 */
import type { CliIo } from './io.js';
import { progressFor } from './progress.js';
import { renderDiagnosisJson, renderDiagnosisText } from './diagnose-report.js';
import { diagnose, type DiagnoseOptions } from '../session/diagnose.js';

export interface DiagnoseCommandOptions extends DiagnoseOptions {
  output: 'text' | 'json';
}

export async function runDiagnoseCommand(opts: DiagnoseCommandOptions, io: CliIo): Promise<number> {
  const progress = progressFor(io.stderr, io.stderrIsTty, io.env);
  let diagnosis;
  try {
    diagnosis = await diagnose(opts, io, {
      prompt: (message) => progress.interrupt(() => io.stderr.write(`${message}\n`)),
      stage: (title) => progress.stage(title),
    });
  } finally {
    progress.done();
  }
  io.stdout.write(opts.output === 'json' ? renderDiagnosisJson(diagnosis) : renderDiagnosisText(diagnosis));
  return diagnosis.exitCode;
}
