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
"""

import io
import json
import logging
import queue
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.secretsmanager.exceptions import InvalidRequestException
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
API_PREFIX = "/2018-06-01/runtime"
# How long one step may take before the invocation is abandoned, as a function timeout would.
INVOCATION_TIMEOUT_SECONDS = 60


class RuntimeApi:
    """The Lambda Runtime API of one function: events go out on /invocation/next, results
    come back on /invocation/{id}/response or /error."""

    def __init__(self, function_arn: str):
        self.function_arn = function_arn
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        self.lock = threading.Lock()
        self.init_error: str | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

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
                request_id, payload = api.events.get()
                deadline = int((time.time() + INVOCATION_TIMEOUT_SECONDS) * 1000)
                self.reply(200, payload, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
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

    def invoke(self, payload: bytes) -> tuple[bool, bytes]:
        """Hands one event to the function and waits for its answer: (succeeded, body)."""
        if self.init_error is not None:
            return False, self.init_error.encode()
        request_id = str(uuid.uuid4())
        answer: queue.Queue = queue.Queue()
        with self.lock:
            self.results[request_id] = answer
        self.events.put((request_id, payload))
        try:
            return answer.get(timeout=INVOCATION_TIMEOUT_SECONDS)
        except queue.Empty:
            return False, json.dumps({
                "errorType": "Timeout",
                "errorMessage": f"no answer within {INVOCATION_TIMEOUT_SECONDS} s",
            }).encode()
        finally:
            with self.lock:
                self.results.pop(request_id, None)


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


def clients(endpoint: str):
    common = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    return boto3.client("iam", **common), boto3.client("lambda", **common)


def create_function(endpoint: str, name: str) -> str:
    iam, awslambda = clients(endpoint)
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
    )["FunctionArn"]


def serve_commands(endpoint: str) -> None:
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("op") != "function":
            print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
            continue
        arn = create_function(endpoint, command["name"])
        runtime = RuntimeApi(arn)
        RUNTIMES[arn] = runtime
        RUNTIMES[command["name"]] = runtime
        print(json.dumps({"arn": arn, "runtime_api": runtime.address}), flush=True)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    deliver_to_running_functions()
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
