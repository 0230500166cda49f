"""Drives the official Python `kubernetes` client against a kubeconfig (argv[1]) and prints one JSON
object with what each call saw: watch, log follow, exec and port-forward to pod default/hello-0."""
import json
import sys

from kubernetes import client, config, watch
from kubernetes.stream import portforward, stream

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
seen = {}

# watch=True on the wire
w = watch.Watch()
for event in w.stream(v1.list_namespaced_pod, 'default', timeout_seconds=20):
    seen['watch'] = [event['type'], event['object'].metadata.name]
    w.stop()
    break

# follow=True on the wire: the next line the pod writes
log = v1.read_namespaced_pod_log('hello-0', 'default', follow=True, tail_lines=0, _preload_content=False)
for line in log.stream():
    seen['log'] = line.decode().strip()
    break
log.release_conn()

# stdout=True, stderr=True, stdin=False, tty=False on the wire; v4.channel.k8s.io
seen['exec'] = stream(
    v1.connect_get_namespaced_pod_exec, 'hello-0', 'default',
    command=['echo', 'hello from python exec'], stderr=True, stdin=False, stdout=True, tty=False,
)

# port-forward over v4.channel.k8s.io to the pod's echo port
pf = portforward(v1.connect_get_namespaced_pod_portforward, 'hello-0', 'default', ports='8080')
sock = pf.socket(8080)
payload = b'python port-forward payload'
sock.sendall(payload)
echoed = b''
while len(echoed) < len(payload):
    chunk = sock.recv(4096)
    if not chunk:
        break
    echoed += chunk
seen['portforward'] = echoed.decode()
sock.close()
seen['portforward_error'] = pf.error(8080)

print(json.dumps(seen))
