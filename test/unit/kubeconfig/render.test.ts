import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { renderKubeconfig } from '../../../src/kubeconfig/index.js';
import { entriesOf, parsePlain, sampleEntry } from './helpers.js';

describe('renderKubeconfig', () => {
  it('renders a standalone kubeconfig with current-context set', () => {
    const entry = sampleEntry('arc-demo', 47011, { token: 'sa-token', namespace: 'apps' });
    const text = renderKubeconfig(entry);
    const config = parsePlain(text);
    expect(config).toMatchObject({ apiVersion: 'v1', kind: 'Config', 'current-context': 'arc-demo' });
    const ours = entriesOf(config, entry);
    expect(ours.cluster?.cluster).toEqual({ server: entry.server, 'certificate-authority-data': entry.certificateAuthorityData });
    expect(ours.user?.user).toEqual({ 'client-certificate-data': entry.clientCertificateData, 'client-key-data': entry.clientKeyData, token: 'sa-token' });
    expect(ours.context?.context).toEqual({ cluster: 'arc-demo', user: entry.userName, namespace: 'apps' });
    expect(config.clusters).toHaveLength(1);
    expect(text).not.toContain('insecure-skip-tls-verify');
  });

  it('quotes names that a YAML 1.1 reader (kubectl) would not read as strings', () => {
    const entry = sampleEntry('yes', 47011, { namespace: '0123' });
    const text = renderKubeconfig(entry);
    // go-yaml follows YAML 1.1, where plain yes is a bool and 0123 an octal number.
    const asKubectl = parseDocument(text, { version: '1.1' }).toJS() as ReturnType<typeof parsePlain>;
    expect(asKubectl['current-context']).toBe('yes');
    expect(entriesOf(asKubectl, entry).context?.context).toEqual({ cluster: 'yes', user: entry.userName, namespace: '0123' });
  });
});
