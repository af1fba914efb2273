"""prowler on what `pipectl up` creates: failed checks on pipectl's resources, next to the targets.

    python benchmarks/security_scan.py [--security standard|strict|both] [--prowler PATH]

Not a test (prowler is not a dependency of pipectl: install it where you like, e.g.
`python -m venv /tmp/scan && /tmp/scan/bin/pip install prowler`, and pass --prowler
/tmp/scan/bin/prowler, or have `prowler` on PATH). For each security level the script:

1. starts a moto server over HTTPS (a self-signed certificate for 127.0.0.1, made here), so that
   `up` writes what it writes on AWS: on a plain-HTTP endpoint pipectl leaves out the TLS-only
   bucket policy statement;
2. runs `pipectl up` against it (AWS_CA_BUNDLE = that certificate), no role in the account, so
   pipectl creates its own least-privilege role;
3. runs `prowler aws` with AWS_ENDPOINT_URL pointing at the server, on the services pipectl uses
   (s3 awslambda iam dynamodb cloudwatch sqs), CSV output;
4. keeps the findings whose resource is one of pipectl's (the bucket, table, role, log group,
   function, queue) and prints PASS/FAIL counts, the target, and every failed check id.

Account-wide findings (root MFA, password policy, CloudTrail, metric filters) are not about what
`up` creates and are left out of the counts; their number is printed for reference.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
ACCOUNT = "123456789012"
SERVICES = ("s3", "awslambda", "iam", "dynamodb", "cloudwatch", "sqs")
TARGETS = {"standard": 16, "strict": 10}  # at most this many failed checks on pipectl's resources
PIPELINE_NAMES = (
    f"serverless-data-input-{ACCOUNT}-{REGION}",
    "ProcessedResults",
    "pipectl-serverless-data-lambda",
    "/aws/lambda/serverless-data-processor",
    "serverless-data-processor",
)
SERVER = textwrap.dedent(
    """
    import sys
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication, MotoRequestHandler, create_backend_app)
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, app, threaded=True,
                         request_handler=MotoRequestHandler, ssl_context=(cert, key))
    server.serve_forever()
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def scan_env(endpoint: str, ca_bundle: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PIPECTL_"))}
    missing = str(home / "no-such-file")
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=missing,
        AWS_SHARED_CREDENTIALS_FILE=missing,
        AWS_ENDPOINT_URL=endpoint,
        AWS_CA_BUNDLE=str(ca_bundle),
        PIPECTL_HOME=str(home / "pipectl-home"),
        HOME=str(home),  # prowler writes its own files under ~
    )
    return env


@dataclass
class Scan:
    level: str
    passed: list[tuple[str, str]]
    failed: list[tuple[str, str]]
    elsewhere: int  # findings on resources that are not pipectl's (account-wide checks)


def wait_until_up(endpoint: str, ca_bundle: Path, timeout_s: float = 20) -> None:
    import ssl

    context = ssl.create_default_context(cafile=str(ca_bundle))
    deadline = time.monotonic() + timeout_s
    while True:  # a hand loop: the server is another process, with nothing to wait on but HTTP
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", context=context, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ours(row: dict[str, str]) -> bool:
    text = " ".join(row.get(k, "") for k in ("RESOURCE_UID", "RESOURCE_NAME"))
    return any(name in text for name in PIPELINE_NAMES)


def run_level(level: str, prowler: str, work: Path) -> Scan:
    folder = work / level
    folder.mkdir()
    cert, key = self_signed(folder)
    port = free_port()
    endpoint = f"https://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), str(cert), str(key)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(endpoint, cert)
        env = scan_env(endpoint, cert, folder)
        (folder / "pipectl.yaml").write_text(f"security: {level}\n")
        up = subprocess.run(
            [sys.executable, "-m", "pipectl", "up", "--json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
        )
        if up.returncode != 0:
            raise SystemExit(f"pipectl up failed ({level}):\n{up.stderr}")
        out = folder / "prowler"
        started = time.monotonic()
        subprocess.run(
            [prowler, "aws", "--filter-region", REGION, "--service", *SERVICES]
            + ["--output-formats", "csv", "--output-directory", str(out), "--no-banner"],
            env=env,
            capture_output=True,
            text=True,
        )  # exit code 3 means "some checks failed": the findings are read from the CSV
        print(f"  prowler ({level}) took {time.monotonic() - started:.0f} s", flush=True)
        return read_findings(level, out)
    finally:
        server.terminate()
        server.wait(timeout=10)


def read_findings(level: str, out: Path) -> Scan:
    files = sorted(out.glob("*.csv"))
    if not files:
        raise SystemExit(f"prowler wrote no CSV into {out}: is it installed (--prowler)?")
    passed, failed, elsewhere = [], [], 0
    with files[-1].open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            if not ours(row):
                elsewhere += 1
                continue
            finding = (row["CHECK_ID"], row.get("RESOURCE_NAME") or row.get("RESOURCE_UID", ""))
            if row["STATUS"] == "PASS":
                passed.append(finding)
            elif row["STATUS"] == "FAIL":
                failed.append(finding)
    return Scan(level, passed, failed, elsewhere)


def report(scan: Scan, show_passed: bool = False) -> None:
    target = TARGETS[scan.level]
    verdict = "meets" if len(scan.failed) <= target else "MISSES"
    print(
        f"\nsecurity: {scan.level}: {len(scan.passed)} passed, {len(scan.failed)} failed on "
        f"pipectl's resources (target: at most {target} failed, {verdict} it); "
        f"{scan.elsewhere} findings on other resources left out"
    )
    for check, count in sorted(Counter(c for c, _ in scan.failed).items()):
        names = sorted({name for c, name in scan.failed if c == check})
        print(f"  FAIL {check}  ({count}: {', '.join(names)})")
    if show_passed:
        for check, count in sorted(Counter(c for c, _ in scan.passed).items()):
            names = sorted({name for c, name in scan.passed if c == check})
            print(f"  pass {check}  ({count}: {', '.join(names)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--security", choices=("standard", "strict", "both"), default="both")
    parser.add_argument("--prowler", default=shutil.which("prowler") or "prowler")
    parser.add_argument("--passed", action="store_true", help="list the passed checks too")
    args = parser.parse_args()
    levels = ("standard", "strict") if args.security == "both" else (args.security,)
    with tempfile.TemporaryDirectory(prefix="pipectl-scan-") as work:
        scans = [run_level(level, args.prowler, Path(work)) for level in levels]
    for scan in scans:
        report(scan, show_passed=args.passed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
