/** Kubeconfigs people really have, in every style a YAML writer or a hand can leave: a session must give each back byte for byte. */

const COMMENTED = `# Managed by hand.   Keep prod first.

apiVersion: v1      # aligned comment
kind: Config
clusters:   # the clusters
  # prod, behind the VPN
  - name: prod        # ← same column as the next one
    cluster:
      server:   https://prod.example.com:6443
      certificate-authority-data: 'QUFBQQ=='


  - name: "staging"   # quoted name
    cluster: {server: "https://staging.example.com", certificate-authority: /etc/staging/ca.pem}
contexts:
  - name: prod
    context:
      cluster: prod
      user: alice   #  two spaces after the hash
users:
  - name: alice
    user:
      token: "s3cr3t"    # rotated weekly
current-context: prod   # the default
preferences: {}
# trailing comment, then a blank line

`;

const FLOW_AND_EMPTY = `apiVersion: v1
kind: Config
clusters: []
contexts: [ ]
users: [{name: ci, user: {token: abc}}]
preferences: {colors: true}
`;

const NO_CURRENT_CONTEXT = `apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://prod.example.com
  name: prod
contexts:
- context:
    cluster: prod
    user: alice
  name: prod
users:
- name: alice
  user:
    username: alice
    password: 'it''s quoted'
preferences: {}`; // no final newline

const ANCHORS = `apiVersion: v1
kind: Config
x-defaults: &defaults
  cluster: prod
  user: alice
clusters:
- name: prod
  cluster: {server: 'https://prod.example.com'}
contexts:
- name: prod
  context: *defaults
- name: prod-ns
  context:
    <<: *defaults
    namespace: payments
users:
- name: alice
  user: {token: abc}
current-context: prod-ns
`;

const NULL_LISTS = `apiVersion: v1
kind: Config
clusters:
contexts: ~   # nothing yet
users: null
preferences: {}
`;

const toCrlf = (text: string) => text.replace(/\n/g, '\r\n');

export const TRICKY_KUBECONFIGS: Record<string, string> = {
  'comments everywhere, odd spacing, blank lines, quoting': COMMENTED,
  'flow style and empty lists': FLOW_AND_EMPTY,
  'current-context missing, no final newline': NO_CURRENT_CONTEXT,
  'anchors, aliases and a merge key': ANCHORS,
  'null lists (empty, ~ and null)': NULL_LISTS,
  'CRLF line endings': toCrlf(COMMENTED),
  'a UTF-8 BOM': `\uFEFF${COMMENTED}`,
  'a BOM and CRLF, flow style': `\uFEFF${toCrlf(FLOW_AND_EMPTY)}`,
};
