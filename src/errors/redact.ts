/** Strips anything token-shaped from text that is about to reach a client or a log. */
export function redactSecrets(text: string): string {
  return text
    .replace(/SharedAccessSignature\s+\S+/gi, 'SharedAccessSignature [redacted]')
    .replace(/Bearer\s+\S+/gi, 'Bearer [redacted]')
    .replace(/\b(sig|sb-hc-token|token)=[^&\s]+/gi, '$1=[redacted]');
}
