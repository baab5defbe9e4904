"""Runs moto as the Secrets Manager API for the tests and the demo.

Prints one JSON line, {"endpoint": ..., "lambda_arn": ...}, once the server is ready, then
serves until its standard input closes, so it never outlives the process that started it.

RotateSecret only creates the value-less AWSPENDING version the way AWS does when the secret
has a rotation function, so a placeholder function is registered (moto's Lambda never runs it:
Docker is switched off, and the steps are driven by the caller).

Functions can also run for real. Each line read from standard input is a command:

  {"op": "function", "name": "rotate-postgres-1a2b"}
      -> {"arn": ..., "runtime_api": "127.0.0.1:PORT"}

registers a Lambda function in moto and serves the Lambda Runtime API for it on PORT. A
function binary started with AWS_LAMBDA_RUNTIME_API set to that address polls for events as
it does on AWS, and when RotateSecret names the function, moto's invocations of the four
steps are delivered to it through that API. A step that fails makes RotateSecret fail with
an error naming the step and the function's errorType, so a test sees the failure that AWS
would only log.

  {"op": "delete-function", "arn": ...}  -> {}

deletes a function, as when a rotation function is removed while secrets still name it.

  {"op": "configured-function", "name": ..., "environment": {"NAME": "value"}}  -> {"arn": ...}

creates a function with those environment variables (its configuration) and no Runtime API:
invoking it does nothing, as with the placeholder.

Invocations look as Lambda makes them. The optional "timeout" (seconds, default 60) is the
function's timeout: Lambda-Runtime-Deadline-Ms is that far ahead of the moment the function
receives the event, and a function that has not answered 2 s after its deadline fails the
step as Lambda reports a timeout, errorType "Sandbox.Timedout" and errorMessage "Task timed
out after 60.00 seconds", unlike any error of the function's own. Every event carries a
RotationToken, as Secrets Manager now sends one: an event without one (moto's never has one)
gets "rotation-token-" and 32 hex digits, a prefix tests look for in a function's log to
prove the token is never written there.

moto also stands in for the RDS control plane, with a local PostgreSQL cluster as the data
plane behind each address given:

  {"op": "rds-instance", "id": "db1", "address": "localhost", "port": 5432,
   "replicas": [{"id": "db1-ro", "address": "127.0.0.1"}]}
      -> {"arn": ..., "secret_arn": ..., "endpoint": {"address": ..., "port": ...},
          "replica_endpoints": [{"address": ..., "port": ...}]}

  {"op": "rds-cluster", "id": "aurora1", "endpoint": "localhost",
   "reader_endpoint": "127.0.0.1", "port": 5432, "instances": [{"id": ..., "address": ...}]}
      -> {"arn": ..., "secret_arn": ..., "endpoint": ..., "reader_endpoint": ..., "port": ...,
          "instance_endpoints": [{"address": ..., "port": ...}]}

create a PostgreSQL DB instance (with read replicas) or an Aurora PostgreSQL DB cluster (with
member instances) whose master password RDS manages: its secret holds only username and
password and carries the tag aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn, as
on AWS. DescribeDBInstances and DescribeDBClusters report the given addresses and port in
place of moto's fictional *.rds.amazonaws.com names, which resolve nowhere.

For measurements (make bench), each function's Runtime API keeps a record of its
invocations, and a proxy can stand between a function and the Secrets Manager API:

  {"op": "timings", "name": ...}
      -> {"ready": T, "invocations": [{"step": ..., "delivered": T, "answered": T, "ok": ...}]}

gives (and forgets) the record: "ready" is when the function first asked for an event, the
others when it was handed each event and when its answer arrived (seconds since the epoch).

  {"op": "proxy", "latency_ms": 15}  -> {"endpoint": "http://127.0.0.1:PORT"}
  {"op": "proxy-calls", "endpoint": ...}
      -> {"calls": [{"operation": "GetSecretValue", "start": T, "end": T}]}

starts a proxy that holds every request for latency_ms before passing it to moto, as the
network and the service do on AWS, and gives (and forgets) the calls it passed.

Faults, for the tests that prove a rotation survives them:

  {"op": "crash", "name": ..., "step": "setSecret", "at": "before"|"after", "pid": 1234}  -> {}

makes the function's Runtime API kill process pid (SIGKILL) once, at that point of the next
invocation of that step: "before" when the function asks for the event (the step never runs),
"after" when its answer arrives (the step's work is done, its answer lost); "now" kills it at
once, in the middle of whatever it is doing. The invocation then fails as Lambda reports a
runtime that died, errorType "Runtime.ExitError".

  {"op": "proxy-fault", "endpoint": ..., "fault": "stall"|"reset"|"500"|"throttle"|null,
   "operation": "PutSecretValue", "after": true}  -> {}

makes a proxy (see "proxy") fail requests from then on: hold them unanswered for a minute,
reset the connection, answer HTTP 500 InternalServiceError, or answer ThrottlingException;
null lets requests through again. With "operation", only that call fails. A failed request
never reaches moto, unless "after" is true: then moto carries it out and only the answer is
lost, as when the network fails on the way back.

Where moto is more lenient than AWS, AWS's rule is put back: PutSecretValue refuses to give an
AWSPENDING version that already holds a value a different one (ResourceExistsException), as
for any other version, instead of overwriting it.

A command that fails is answered {"error": "..."}.
"""

import http.client
import io
import json
import logging
import os
import queue
import signal
import socket
import struct
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.rds.models import DBCluster, DBInstance
from moto.secretsmanager.exceptions import InvalidRequestException, ResourceExistsException
from moto.secretsmanager.models import ReplicaSecret, SecretsManagerBackend
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
API_PREFIX = "/2018-06-01/runtime"
# A function's timeout when its "function" command sets none.
DEFAULT_TIMEOUT_SECONDS = 60
# How long past its deadline a function's answer is still awaited before Lambda's timeout
# error is reported in its place.
GRACE_SECONDS = 2
ROTATION_TOKEN_PREFIX = "rotation-token-"


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 that logs nothing and answers without delay."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm the body would wait
    # for the client's delayed ACK, some 40 ms per answer.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


class RuntimeApi:
    """The Lambda Runtime API of one function: events go out on /invocation/next, results
    come back on /invocation/{id}/response or /error."""

    def __init__(self, function_arn: str, timeout: int):
        self.function_arn = function_arn
        self.timeout = timeout
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        # Request id -> deadline (epoch seconds), from when the function received the event.
        self.deadlines: dict[str, float] = {}
        self.lock = threading.Lock()
        self.init_error: str | None = None
        # When the function first polled, and each invocation's step and times.
        self.ready: float | None = None
        self.timings: list[dict] = []
        self.delivered: dict[str, tuple[str, float]] = {}
        # The one armed crash: {"step", "at", "pid"}.
        self.crash: dict | None = None
        api = self

        class Handler(QuietHandler):
            def reply(self, status: int, body: bytes = b"", headers: dict | None = None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != f"{API_PREFIX}/invocation/next":
                    return self.reply(404)
                if api.ready is None:
                    api.ready = time.time()
                request_id, payload, deadline = api.next_event()
                if api.crash_at(step_of(payload), "before"):
                    api.died(request_id)
                    self.close_connection = True
                    return
                self.reply(200, payload, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(deadline * 1000)),
                    "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                })

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == f"{API_PREFIX}/init/error":
                    api.init_error = body.decode("utf-8", "replace")
                    return self.reply(202)
                parts = self.path[len(API_PREFIX):].strip("/").split("/")
                if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
                    return self.reply(404)
                with api.lock:
                    waiting = api.results.get(parts[1])
                    delivery = api.delivered.pop(parts[1], None)
                if delivery is not None and api.crash_at(delivery[0], "after"):
                    api.died(parts[1])
                    self.close_connection = True
                    return
                with api.lock:
                    if waiting is not None and delivery is not None:
                        step, delivered = delivery
                        api.timings.append({
                            "step": step,
                            "delivered": delivered,
                            "answered": time.time(),
                            "ok": parts[2] == "response",
                        })
                if waiting is None:
                    return self.reply(400)
                waiting.put((parts[2] == "response", body))
                self.reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def next_event(self) -> tuple[str, bytes, float]:
        """Waits for an event still awaited (one that timed out in the queue is dropped, as
        Lambda never delivers it) and starts its clock."""
        while True:
            request_id, payload = self.events.get()
            with self.lock:
                if request_id in self.results:
                    now = time.time()
                    deadline = now + self.timeout
                    self.deadlines[request_id] = deadline
                    self.delivered[request_id] = (step_of(payload), now)
                    return request_id, payload, deadline

    def crash_at(self, step: str, at: str) -> bool:
        """Kills the function's process when the armed crash is at this point (once)."""
        with self.lock:
            crash = self.crash
            if crash is None or crash["step"] != step or crash["at"] != at:
                return False
            self.crash = None
        kill(crash["pid"])
        return True

    def crash_now(self, pid: int) -> None:
        """Kills the function's process at once; the invocation it was running fails."""
        kill(pid)
        with self.lock:
            running = list(self.delivered)
        for request_id in running:
            self.died(request_id)

    def died(self, request_id: str) -> None:
        """Fails the invocation as Lambda does when the runtime process dies during it."""
        with self.lock:
            waiting = self.results.get(request_id)
        if waiting is not None:
            waiting.put((False, json.dumps({
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with signal: killed",
            }).encode()))

    def invoke(self, payload: bytes) -> tuple[bool, bytes]:
        """Hands one event to the function and waits for its answer: (succeeded, body)."""
        if self.init_error is not None:
            return False, self.init_error.encode()
        request_id = str(uuid.uuid4())
        answer: queue.Queue = queue.Queue()
        with self.lock:
            self.results[request_id] = answer
        self.events.put((request_id, with_rotation_token(payload)))
        # Until the function takes the event, its wait counts from now.
        give_up = time.time() + self.timeout + GRACE_SECONDS
        try:
            while True:
                with self.lock:
                    deadline = self.deadlines.get(request_id)
                if deadline is not None:
                    give_up = deadline + GRACE_SECONDS
                remaining = give_up - time.time()
                if remaining <= 0:
                    return False, json.dumps({
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {self.timeout:.2f} seconds",
                    }).encode()
                try:
                    return answer.get(timeout=min(remaining, 0.5))
                except queue.Empty:
                    pass
        finally:
            with self.lock:
                self.results.pop(request_id, None)
                self.deadlines.pop(request_id, None)
                self.delivered.pop(request_id, None)


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone: the invocation fails all the same


def step_of(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("Step", "?"))
    except (ValueError, AttributeError):
        return "?"


def with_rotation_token(payload: bytes) -> bytes:
    """The event as Secrets Manager sends it now, with a RotationToken (moto sends none)."""
    try:
        event = json.loads(payload)
    except ValueError:
        return payload
    if not isinstance(event, dict) or "RotationToken" in event:
        return payload
    event["RotationToken"] = ROTATION_TOKEN_PREFIX + uuid.uuid4().hex
    return json.dumps(event).encode()


RUNTIMES: dict[str, RuntimeApi] = {}


def deliver_to_running_functions() -> None:
    """Routes moto's Lambda invocations of registered functions to their Runtime API. With
    Docker off, moto's Lambda is its "simple" backend, which otherwise echoes the event."""
    moto_invoke = LambdaSimpleBackend.invoke

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        runtime = RUNTIMES.get(function_name)
        if runtime is None:
            return moto_invoke(self, function_name, qualifier, body, headers, response_headers)
        payload = body.encode() if isinstance(body, str) else body
        succeeded, answer = runtime.invoke(payload)
        if not succeeded:
            step = json.loads(payload).get("Step", "?")
            try:
                error = json.loads(answer)
                detail = f"{error.get('errorType')}: {error.get('errorMessage')}"
            except ValueError:
                detail = answer.decode("utf-8", "replace")
            raise InvalidRequestException(f"rotation function failed at {step}: {detail}")
        response_headers["Content-Length"] = str(len(answer))
        return answer

    LambdaSimpleBackend.invoke = invoke


def client(endpoint: str, service: str):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def create_function(endpoint: str, name: str, environment: dict | None = None) -> str:
    iam, awslambda = client(endpoint, "iam"), client(endpoint, "lambda")
    try:
        role = iam.get_role(RoleName="rotation-test")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="rotation-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return awslambda.create_function(
        FunctionName=name,
        Runtime="provided.al2023",
        Role=role,
        Handler="bootstrap",
        Architectures=["arm64"],
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": environment or {}},
    )["FunctionArn"]


def configured_function(endpoint: str, command: dict) -> dict:
    return {"arn": create_function(endpoint, command["name"], command.get("environment"))}


def delete_function(endpoint: str, command: dict) -> dict:
    client(endpoint, "lambda").delete_function(FunctionName=command["arn"])
    return {}


def timings(endpoint: str, command: dict) -> dict:
    runtime = RUNTIMES[command["name"]]
    with runtime.lock:
        invocations, runtime.timings = runtime.timings, []
    return {"ready": runtime.ready, "invocations": invocations}


class LatencyProxy:
    """Passes each request to moto after holding it for the given latency, and records it;
    or, while a fault is set, fails it that way."""

    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
    STALL_SECONDS = 60
    FAULTS = {None, "stall", "reset", "500", "throttle"}

    def __init__(self, upstream: str, latency_ms: float):
        host, port = upstream.removeprefix("http://").split(":")
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        # {"kind", "operation" (None: every one), "after" (forward first, then fail)}
        self.fault: dict | None = None
        proxy = self

        class Handler(QuietHandler):
            def fail(self, fault: str) -> None:
                if fault == "stall":
                    until = time.time() + proxy.STALL_SECONDS
                    while proxy.fault is not None and time.time() < until:
                        time.sleep(0.05)
                    self.close_connection = True
                elif fault == "reset":
                    # SO_LINGER with a zero timeout makes close() send RST.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                else:
                    status, kind, message = {
                        "500": (500, "InternalServiceError", "An internal error occurred"),
                        "throttle": (400, "ThrottlingException", "Rate exceeded"),
                    }[fault]
                    data = json.dumps({"__type": kind, "message": message}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("x-amzn-ErrorType", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = self.headers.get("X-Amz-Target", "?").rsplit(".", 1)[-1]
                fault = proxy.fault
                if fault is not None and fault["operation"] in (None, operation):
                    if not fault["after"]:
                        return self.fail(fault["kind"])
                    # The request reaches moto and takes effect; only its answer is lost.
                    self.forward(body)
                    return self.fail(fault["kind"])
                self.reply(*self.forward(body))

            def forward(self, body: bytes):
                """Passes the request to moto; its answer (status, headers, body)."""
                start = time.time()
                time.sleep(latency_ms / 1000)
                upstream = http.client.HTTPConnection(host, int(port), timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in proxy.HOP_BY_HOP}
                upstream.request("POST", self.path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                # Recorded before the answer goes out, so the record is complete by the time
                # the function can have finished its step.
                target = self.headers.get("X-Amz-Target", "?")
                with proxy.lock:
                    proxy.calls.append({
                        "operation": target.rsplit(".", 1)[-1],
                        "start": start,
                        "end": time.time(),
                    })
                return answer.status, answer.getheaders(), data

            def reply(self, status, headers, data: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in proxy.HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host_, port_ = self.server.server_address[:2]
        self.endpoint = f"http://{host_}:{port_}"


PROXIES: dict[str, LatencyProxy] = {}


def start_proxy(endpoint: str, command: dict) -> dict:
    proxy = LatencyProxy(endpoint, float(command.get("latency_ms", 0)))
    PROXIES[proxy.endpoint] = proxy
    return {"endpoint": proxy.endpoint}


def proxy_fault(endpoint: str, command: dict) -> dict:
    kind = command.get("fault")
    if kind not in LatencyProxy.FAULTS:
        raise ValueError(f"unknown fault {kind!r}")
    PROXIES[command["endpoint"]].fault = None if kind is None else {
        "kind": kind,
        "operation": command.get("operation"),
        "after": bool(command.get("after", False)),
    }
    return {}


def crash(endpoint: str, command: dict) -> dict:
    runtime = RUNTIMES[command["name"]]
    if command["at"] == "now":
        runtime.crash_now(int(command["pid"]))
        return {}
    if command["at"] not in ("before", "after"):
        raise ValueError(f"a crash is before or after a step, or now, not {command['at']!r}")
    with runtime.lock:
        runtime.crash = {"step": command["step"], "at": command["at"], "pid": int(command["pid"])}
    return {}


def refuse_rewriting_versions() -> None:
    """AWS never changes a version's value: PutSecretValue with the token of a version that
    holds a different value fails. moto makes an exception for AWSPENDING versions, which
    would let two concurrent createSecret steps each store their own password."""
    moto_check = SecretsManagerBackend._check_with_existing_secrets_and_versions

    def check(self, secret_name, client_request_token, secret_string, secret_binary,
              on_create=False):
        secret = self.secrets[secret_name] if secret_name in self.secrets else None
        version = None
        if secret is not None and not isinstance(secret, ReplicaSecret) and client_request_token:
            version = secret.versions.get(client_request_token)
        held = version is not None and (
            version.get("secret_string") is not None or version.get("secret_binary") is not None)
        if held and "AWSPENDING" in version.get("version_stages", []):
            if (version.get("secret_string") == secret_string
                    and version.get("secret_binary") == secret_binary):
                return secret
            raise ResourceExistsException(
                f"You can't use ClientRequestToken {client_request_token} because that value "
                f"is already in use for a version of secret {secret.arn}.")
        return moto_check(self, secret_name, client_request_token, secret_string,
                          secret_binary, on_create)

    SecretsManagerBackend._check_with_existing_secrets_and_versions = check

    # moto serves requests on parallel threads: the check and the write must be one step, or
    # two puts of one version could both pass the check.
    moto_put = SecretsManagerBackend.put_secret_value
    writing = threading.Lock()

    def put_secret_value(self, *args, **kwargs):
        with writing:
            return moto_put(self, *args, **kwargs)

    SecretsManagerBackend.put_secret_value = put_secret_value


def proxy_calls(endpoint: str, command: dict) -> dict:
    proxy = PROXIES[command["endpoint"]]
    with proxy.lock:
        calls, proxy.calls = proxy.calls, []
    return {"calls": calls}


def register_function(endpoint: str, command: dict) -> dict:
    arn = create_function(endpoint, command["name"])
    runtime = RuntimeApi(arn, int(command.get("timeout", DEFAULT_TIMEOUT_SECONDS)))
    RUNTIMES[arn] = runtime
    RUNTIMES[command["name"]] = runtime
    return {"arn": arn, "runtime_api": runtime.address}


# Identifier (lower case, as moto keeps it) -> the local address reported in its place.
INSTANCE_ADDRESSES: dict[str, str] = {}
# Cluster identifier -> (endpoint, reader endpoint) reported in their place.
CLUSTER_ENDPOINTS: dict[str, tuple[str, str]] = {}


def report_local_addresses() -> None:
    """Makes moto's RDS report the local address of each instance and cluster the commands
    made, and its own fictional names for any other."""
    moto_address = DBInstance.address.fget
    moto_endpoint = DBCluster.endpoint.fget
    moto_reader_endpoint = DBCluster.reader_endpoint.fget

    def address(self) -> str:
        return INSTANCE_ADDRESSES.get(self.db_instance_identifier) or moto_address(self)

    def endpoint(self) -> str:
        local = CLUSTER_ENDPOINTS.get(self.db_cluster_identifier)
        return local[0] if local else moto_endpoint(self)

    def reader_endpoint(self) -> str:
        local = CLUSTER_ENDPOINTS.get(self.db_cluster_identifier)
        return local[1] if local else moto_reader_endpoint(self)

    DBInstance.address = property(address)
    DBCluster.endpoint = property(endpoint)
    DBCluster.reader_endpoint = property(reader_endpoint)


def described_instance(rds, identifier: str) -> dict:
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def endpoint_of(instance: dict) -> dict:
    return {"address": instance["Endpoint"]["Address"], "port": instance["Endpoint"]["Port"]}


def create_rds_instance(endpoint: str, command: dict) -> dict:
    rds = client(endpoint, "rds")
    replicas = command.get("replicas", [])
    INSTANCE_ADDRESSES[command["id"].lower()] = command["address"]
    for replica in replicas:
        INSTANCE_ADDRESSES[replica["id"].lower()] = replica["address"]
    rds.create_db_instance(
        DBInstanceIdentifier=command["id"],
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        # The user name moto writes into the managed secret.
        MasterUsername="admin",
        ManageMasterUserPassword=True,
        Port=command["port"],
    )
    for replica in replicas:
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=replica["id"],
            SourceDBInstanceIdentifier=command["id"],
        )
    primary = described_instance(rds, command["id"])
    return {
        "arn": primary["DBInstanceArn"],
        "secret_arn": primary["MasterUserSecret"]["SecretArn"],
        "endpoint": endpoint_of(primary),
        "replica_endpoints": [
            endpoint_of(described_instance(rds, replica["id"])) for replica in replicas
        ],
    }


def create_rds_cluster(endpoint: str, command: dict) -> dict:
    rds = client(endpoint, "rds")
    instances = command.get("instances", [])
    CLUSTER_ENDPOINTS[command["id"].lower()] = (command["endpoint"], command["reader_endpoint"])
    for instance in instances:
        INSTANCE_ADDRESSES[instance["id"].lower()] = instance["address"]
    rds.create_db_cluster(
        DBClusterIdentifier=command["id"],
        Engine="aurora-postgresql",
        MasterUsername="admin",
        ManageMasterUserPassword=True,
        Port=command["port"],
    )
    for instance in instances:
        rds.create_db_instance(
            DBInstanceIdentifier=instance["id"],
            DBClusterIdentifier=command["id"],
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
            # On AWS a member listens on its cluster's port; moto would give it the default.
            Port=command["port"],
        )
    cluster = rds.describe_db_clusters(DBClusterIdentifier=command["id"])["DBClusters"][0]
    return {
        "arn": cluster["DBClusterArn"],
        "secret_arn": cluster["MasterUserSecret"]["SecretArn"],
        "endpoint": cluster["Endpoint"],
        "reader_endpoint": cluster["ReaderEndpoint"],
        "port": cluster["Port"],
        "instance_endpoints": [
            endpoint_of(described_instance(rds, instance["id"])) for instance in instances
        ],
    }


COMMANDS = {
    "function": register_function,
    "delete-function": delete_function,
    "configured-function": configured_function,
    "timings": timings,
    "proxy": start_proxy,
    "proxy-calls": proxy_calls,
    "proxy-fault": proxy_fault,
    "crash": crash,
    "rds-instance": create_rds_instance,
    "rds-cluster": create_rds_cluster,
}


def serve_commands(endpoint: str) -> None:
    for line in sys.stdin:
        try:
            command = json.loads(line)
            run = COMMANDS.get(command.get("op"))
            if run is None:
                raise ValueError(f"unknown command {command!r}")
            answer = run(endpoint, command)
        except Exception as error:  # noqa: BLE001 - the caller reports it, with its test
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    deliver_to_running_functions()
    report_local_addresses()
    refuse_rewriting_versions()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(
        f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10
    ).raise_for_status()
    placeholder = create_function(endpoint, "rotation-placeholder")
    print(json.dumps({"endpoint": endpoint, "lambda_arn": placeholder}), flush=True)
    serve_commands(endpoint)
    server.stop()


if __name__ == "__main__":
    main()
