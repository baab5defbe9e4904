"""Runs moto as the Secrets Manager API for the tests and the demo.

Prints one JSON line, {"endpoint": ..., "lambda_arn": ...}, once the server is ready, then
serves until its standard input closes, so it never outlives the process that started it.

RotateSecret only creates the value-less AWSPENDING version the way AWS does when the secret
has a rotation function, so a placeholder function is registered (moto's Lambda never runs it:
Docker is switched off, and the steps are driven by the caller).
"""

import io
import json
import logging
import sys
import zipfile

import boto3
import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


def placeholder_function(endpoint: str) -> str:
    common = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    role = boto3.client("iam", **common).create_role(
        RoleName="rotation-test", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return boto3.client("lambda", **common).create_function(
        FunctionName="rotation-placeholder",
        Runtime="provided.al2023",
        Role=role,
        Handler="bootstrap",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(
        f"{endpoint}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=10
    ).raise_for_status()
    print(json.dumps({"endpoint": endpoint, "lambda_arn": placeholder_function(endpoint)}), flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
