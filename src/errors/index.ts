/** The ground floor: error types, the code catalogue and redaction, imported by every other folder. */
export { ArcproxyError, UsageError, errorCodeOf } from './arcproxy-error.js';
export { ERROR_CATALOGUE, ExitCode, exitCodeFor, type ErrorCode, type ExitCodeValue } from './catalogue.js';
export { redactHeaders, redactSecrets } from './redact.js';
