/** Strips anything token-shaped from text that is about to reach a client or a log. */
export function redactSecrets(text: string): string {
  return (
    text
      .replace(/SharedAccessSignature\s+\S+/gi, 'SharedAccessSignature [redacted]')
      // Not "bearer token(s)": prose, as in a cluster's Status message.
      .replace(/Bearer\s+(?!tokens?\b)\S+/gi, 'Bearer [redacted]')
      .replace(/\b(sig|sb-hc-token|token)=[^&\s]+/gi, '$1=[redacted]')
      // OAuth fields, in a form body or a JSON answer (a refresh token is not a JWT).
      .replace(/\b(access_token|refresh_token|id_token|client_secret|client_assertion|password)=[^&\s]+/gi, '$1=[redacted]')
      .replace(/"(access_token|refresh_token|id_token|client_secret|client_assertion|password|token|secret)"(\s*:\s*)"[^"]*"/gi, '"$1"$2"[redacted]"')
      // Any JWT or JWS (access tokens, SHRs, assertions), wherever it stands.
      .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted JWT]')
  );
}

/** Header names whose values are credentials, whatever they look like. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'servicebusauthorization', 'cookie', 'set-cookie', 'x-ms-token']);

/** A [name, value, ...] header list with credential values replaced and others passed through redactSecrets. */
export function redactHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    out.push(name, SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : redactSecrets(raw[i + 1]!));
  }
  return out;
}
