"""HTTP auth (Basic, JWT, ?u=&p=, read-only users) and TLS with client certificates (docs/kapacitor-api.md §7)."""

import datetime
import socket
import ssl
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sim_support import TASKS, ApiClient, make_jwt, wait_for

SECRET = 's3cret'
FLUX = 'option task = {name: "t", every: 1m}\nfrom(bucket: "a") |> range(start: -1m)'


def auth_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.content == ('{"error":"%s","message":"%s"}' % (message, message)).encode()


@pytest.fixture
def auth_client(make_sim):
    return make_sim(auth_users=['alice:pw', 'reader:pw2:ro'], shared_secret=SECRET)[1]


def test_basic_and_query_credentials(auth_client):
    auth_error(auth_client.get(TASKS), 401, 'unable to parse authentication credentials')
    auth_error(auth_client.get(TASKS, auth=('alice', 'wrong')), 401, 'authorization failed')
    auth_error(auth_client.get(TASKS, auth=('', 'x')), 401, 'username required')
    assert auth_client.get(TASKS, auth=('alice', 'pw')).status_code == 200
    assert auth_client.get(TASKS + '?u=alice&p=pw').status_code == 200
    created = auth_client.post(TASKS, json={'flux': FLUX}, auth=('alice', 'pw')).json()
    assert created['ownerID'] == 'alice'
    assert auth_client.get('/_sim/stats').status_code == 200          # the control API stays open


def test_jwt(auth_client):
    def get(token):
        return auth_client.get(TASKS, headers={'Authorization': 'Bearer ' + token})

    now = int(time.time())
    assert get(make_jwt({'username': 'bob', 'exp': now + 60}, SECRET)).status_code == 200
    auth_error(get(make_jwt({'username': 'bob', 'exp': now - 60}, SECRET)), 401, 'Token is expired')
    auth_error(get(make_jwt({'username': 'bob', 'exp': now + 60}, 'other')), 401, 'signature is invalid')
    auth_error(get(make_jwt({'username': 'bob'}, SECRET)), 401, 'token expiration required')
    auth_error(get(make_jwt({'username': 'bob', 'exp': 0}, SECRET)), 401, 'token expiration required')
    auth_error(get(make_jwt({'exp': now + 60}, SECRET)), 401, 'username in token must be a string')
    auth_error(get(make_jwt({'username': '', 'exp': now + 60}, SECRET)), 401, 'token must contain a username')
    auth_error(get('abc'), 401, 'token contains an invalid number of segments')
    token = make_jwt({'username': 'bob', 'exp': now + 60}, SECRET)
    created = auth_client.post(TASKS, json={'flux': FLUX}, headers={'Authorization': 'Bearer ' + token}).json()
    assert created['ownerID'] == 'bob'


def test_read_only_user(auth_client):
    task = auth_client.post(TASKS, json={'flux': FLUX}, auth=('alice', 'pw')).json()
    assert auth_client.get(TASKS, auth=('reader', 'pw2')).status_code == 200
    path = '%s/%s/runs/0b00000000000001/retry' % (TASKS, task['id'])
    auth_error(auth_client.post(path, auth=('reader', 'pw2')), 403,
               'user reader does not have \\"write\\" privilege for API endpoint \\"/api/api/v2/tasks/%s/runs/0b00000000000001/retry\\"'
               % task['id'])
    auth_error(auth_client.request('DELETE', '%s/%s' % (TASKS, task['id']), auth=('reader', 'pw2')), 403,
               'user reader does not have \\"delete\\" privilege for API endpoint \\"/api/api/v2/tasks/%s\\"' % task['id'])


def test_disabled_api_authenticates_first(make_sim):
    dummy, client = make_sim(auth_users=['alice:pw'], fluxtask_disabled=True)
    auth_error(client.get(TASKS), 401, 'unable to parse authentication credentials')
    response = client.get(TASKS, auth=('alice', 'pw'))
    assert response.status_code == 404 and response.json() == {'error': 'Not Found', 'message': 'Not Found'}


# -- TLS ------------------------------------------------------------------------------------------------------------------

def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(subject, issuer, key, issuer_key, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer)).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path, cert, key=None):
    data = cert.public_bytes(serialization.Encoding.PEM)
    path.write_bytes(data)
    if key is not None:
        key_path = path.with_suffix('.key')
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return str(path), str(key_path)
    return str(path)


@pytest.fixture
def pki(tmp_path):
    """A throw-away CA, a server certificate for 127.0.0.1 and a client certificate, valid for one day."""
    import ipaddress  # pylint: disable=import-outside-toplevel
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for dummy in range(3))
    ca = _cert('test-ca', 'test-ca', ca_key, ca_key, ca=True)
    server = _cert('127.0.0.1', 'test-ca', server_key, ca_key, san=[x509.IPAddress(ipaddress.ip_address('127.0.0.1'))])
    client = _cert('client', 'test-ca', client_key, ca_key)
    return {'ca': _write(tmp_path / 'ca.pem', ca), 'server': _write(tmp_path / 'server.pem', server, server_key),
            'client': _write(tmp_path / 'client.pem', client, client_key)}


def test_tls_with_client_certificates(make_sim, pki):
    sim, dummy = make_sim(tls_cert=pki['server'][0], tls_key=pki['server'][1], tls_client_ca=pki['ca'])
    assert sim.url.startswith('https://127.0.0.1:') and sim.ready_line() == 'kapacitor-sim: listening on ' + sim.url
    client = ApiClient(sim.url, verify=pki['ca'], cert=pki['client'])
    response = client.get(TASKS)
    assert response.status_code == 200 and response.json()['tasks'] == []
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        ApiClient(sim.url, verify=pki['ca']).get(TASKS)                  # no client certificate
    with pytest.raises(requests.exceptions.SSLError):
        ApiClient(sim.url, cert=pki['client']).get(TASKS)                # server not trusted by the default store
    assert ssl.CERT_REQUIRED == sim.server.ssl_context.verify_mode


def test_tls_disconnect_detection(make_sim, pki):
    """A blocking retry over TLS is cancelled when the client goes away."""
    scenario = {'tasks': [{'id': '0a1b2c3d4e5f6789', 'name': 't', 'run_seconds': 3,
                           'runs': [{'id': '0b00000000000001', 'status': 'failed', 'scheduled_for': '-1h'}]}]}
    sim, dummy = make_sim(scenario, tls_cert=pki['server'][0], tls_key=pki['server'][1])
    client = ApiClient(sim.url, verify=pki['ca'])
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.post('%s/0a1b2c3d4e5f6789/runs/0b00000000000001/retry' % TASKS, timeout=0.3)
    client.session.close()
    deadline = time.monotonic() + 2
    while client.stats()['disconnect_cancellations'] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _tls_retry(sim, pki, path):
    """A TLS connection to ``sim`` that has sent a retry of ``path`` and waits for the answer."""
    context = ssl.create_default_context(cafile=pki['ca'])
    conn = context.wrap_socket(socket.create_connection(('127.0.0.1', sim.port)), server_hostname='127.0.0.1')
    conn.sendall(('POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' % path).encode())
    return conn


def test_tls_close_notify_cancels_a_blocking_retry(make_sim, pki):
    """A TLS client that closes cleanly sends close_notify, then FIN: Go's tls.Conn reads EOF there, so kapacitord
    cancels the run, though bytes (the alert record) are pending on the TCP stream. A TLS client that stays open is
    not taken as gone: it gets its answer when the run ends."""
    scenario = {'tasks': [{'id': '0a1b2c3d4e5f6789', 'name': 't', 'run_seconds': 1.5,
                           'runs': [{'id': '0b00000000000001', 'status': 'failed', 'scheduled_for': '-1h'}]}]}
    sim, dummy = make_sim(scenario, tls_cert=pki['server'][0], tls_key=pki['server'][1])
    client = ApiClient(sim.url, verify=pki['ca'])
    path = '%s/0a1b2c3d4e5f6789/runs/0b00000000000001/retry' % TASKS

    started = time.monotonic()
    with _tls_retry(sim, pki, path) as conn:
        answer = conn.makefile('rb').readline()
    assert answer.startswith(b'HTTP/1.1 200 ') and time.monotonic() - started >= 1.5
    assert client.stats()['disconnect_cancellations'] == 0

    started = time.monotonic()
    conn = _tls_retry(sim, pki, path)
    time.sleep(0.2)
    conn.setblocking(False)
    with pytest.raises(ssl.SSLWantReadError):   # close_notify sent; the server's own is not awaited
        conn.unwrap()
    conn.close()
    wait_for(lambda: client.stats()['disconnect_cancellations'] == 1, timeout=3, what='the retry canceled')
    assert time.monotonic() - started < 1.0
    runs = [r for r in client.state_runs('0a1b2c3d4e5f6789') if r['id'] > '0b00000000000001']
    assert [r['status'] for r in runs] == ['success', 'failed']
    logs = client.get('%s/0a1b2c3d4e5f6789/runs/%s/logs' % (TASKS, runs[1]['id'])).json()['events']
    assert logs[-1]['message'] == 'context canceled'
