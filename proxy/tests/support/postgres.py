#!/usr/bin/env python3
"""A real PostgreSQL server from Debian's packages for the proxy's tests.

Creates a cluster in a fresh temp dir with initdb (as the `postgres` user
when running as root: the server refuses to run as root), starts it with
pg_ctl on 127.0.0.1 only, at a free ephemeral port, with its unix socket in
the temp dir and password (scram-sha-256) authentication for TCP.

Prints one line, the superuser's URL:
  postgres://alphaswarm:<random password>@127.0.0.1:<port>/postgres
then serves until its standard input closes (the test script or test
process exited, however it exited), stops the server and removes the dir.

Usage: postgres.py [--no-fsync]   (benchmarks keep fsync on: the default)
"""
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

ATTEMPTS = 5


def bin_dir():
    """initdb/pg_ctl of the newest installed major version."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    sys.exit("PostgreSQL is not installed: run `source scripts/lib.sh; ensure_postgresql`")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    fsync = "off" if "--no-fsync" in sys.argv[1:] else "on"
    bindir = bin_dir()
    root = tempfile.mkdtemp(prefix="alphaswarm-pg-")
    os.chmod(root, 0o700)
    run_as = {}
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    data = os.path.join(root, "data")
    log = os.path.join(root, "server.log")
    password = secrets.token_urlsafe(18)
    pwfile = os.path.join(root, "pw")
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    if run_as:
        os.chown(pwfile, run_as["user"], run_as["group"])

    def pg(*args, check=True):
        return subprocess.run(
            [os.path.join(bindir, args[0]), *args[1:]],
            cwd=root,
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **run_as,
        )

    started = False
    try:
        pg("initdb", "-D", data, "-U", "alphaswarm", f"--pwfile={pwfile}",
           "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale")
        os.remove(pwfile)
        for _ in range(ATTEMPTS):
            port = free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=400 "
                f"-c shared_buffers=64MB -c fsync={fsync}"
            )
            result = pg("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start",
                        check=False)
            if result.returncode == 0:
                started = True
                break
        if not started:
            sys.stderr.write(open(log).read() if os.path.exists(log) else "pg_ctl failed\n")
            sys.exit("PostgreSQL did not start")
        print(f"postgres://alphaswarm:{password}@127.0.0.1:{port}/postgres", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            sys.stdin.read()
        except KeyboardInterrupt:
            pass
    finally:
        if started:
            pg("pg_ctl", "-D", data, "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
