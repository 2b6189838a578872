"""A throwaway Redis Cluster on loopback: three masters, three replicas.

The tests (`tests.cluster`) and ``python -m bench.e2e --shards N`` start one
the same way: six ``redis-server --cluster-enabled yes`` in a temporary
directory, on free ports whose cluster-bus port (port + 10000) is free too,
joined by ``redis-cli --cluster create``, nothing saved to disk. Nothing but
``redis-server`` and ``redis-cli`` is needed. `stop` kills every server it
started, so a test or a benchmark never leaves one running.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

HOST = "127.0.0.1"
NODES = 6
"""Three masters and one replica each (`redis-cli --cluster-replicas 1`)."""
READY_WAIT = 30.0
_BUS_OFFSET = 10_000
"""Redis Cluster's bus listens on the client port + 10000."""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` ports free on loopback, each with its cluster-bus port free too."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randrange(20_000, 55_000)
        if port not in chosen and _port_free(port) and _port_free(port + _BUS_OFFSET):
            chosen.append(port)
    return chosen


class LocalCluster:
    """Six local cluster nodes; ``url`` reaches the cluster through its first one."""

    def __init__(self) -> None:
        self.ports = free_ports(NODES)
        self.url = f"redis://{HOST}:{self.ports[0]}/0"
        self._dir = Path(tempfile.mkdtemp(prefix="smsgw-cluster-"))
        self._servers: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> LocalCluster:
        """Starts the servers, creates the cluster, returns once every node says ok."""
        try:
            for port in self.ports:
                self._servers[port] = self._server(port)
            for port in self.ports:
                self._wait(port, lambda client: bool(client.ping()))
            subprocess.run(
                [
                    "redis-cli",
                    "--cluster",
                    "create",
                    *(f"{HOST}:{port}" for port in self.ports),
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=READY_WAIT,
            )
            self.wait_ok()
            for port in self.ports:  # every replica known everywhere and in sync
                self._wait(port, _replicas_ready)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ok(self, ports: list[int] | None = None) -> None:
        """Waits until every running node (or ``ports``) says ``cluster_state:ok``
        and agrees that every slot is served."""
        for port in ports or self.running():
            self._wait(port, _cluster_ok)

    def running(self) -> list[int]:
        return [port for port, server in self._servers.items() if server.poll() is None]

    def masters(self) -> list[int]:
        """Ports of the running masters, as the first running node sees them."""
        with self.client(self.running()[0]) as client:
            nodes = client.execute_command("CLUSTER", "NODES").decode()
        return sorted(
            int(fields[1].split(":")[1].split("@")[0])
            for line in nodes.splitlines()
            if (fields := line.split()) and "master" in fields[2] and "fail" not in fields[2]
        )

    def replica_of(self, master: int) -> int:
        """The port of ``master``'s replica."""
        with self.client(master) as client:
            node_id = client.execute_command("CLUSTER", "MYID").decode()
            replicas = client.execute_command("CLUSTER", "REPLICAS", node_id)
        [line] = [r.decode() if isinstance(r, bytes) else r for r in replicas]
        return int(line.split()[1].split(":")[1].split("@")[0])

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot now."""
        with self.client(self.running()[0]) as client:
            slot = client.execute_command("CLUSTER", "KEYSLOT", key)
            for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
                if start <= slot <= end:
                    return int(master[1])
        raise LookupError(f"no node serves the slot of {key!r}")

    def kill(self, port: int) -> None:
        """SIGKILL one node, as a crashed machine would go."""
        server = self._servers[port]
        server.send_signal(signal.SIGKILL)
        server.wait()

    @staticmethod
    def client(port: int) -> Redis:
        return Redis(host=HOST, port=port, socket_timeout=5, socket_connect_timeout=5)

    def stop(self) -> None:
        for server in self._servers.values():
            if server.poll() is None:
                server.kill()
            server.wait()
        self._servers.clear()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _server(self, port: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                HOST,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                "2000",
                "--save",
                "",
                "--appendonly",
                "no",
                "--lazyfree-lazy-expire",  # as docs/scaling.md asks of a production Redis
                "yes",
                "--dir",
                str(self._dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait(self, port: int, ready: Callable[[Redis], bool]) -> None:
        deadline = time.monotonic() + READY_WAIT
        with self.client(port) as client:
            while True:
                try:
                    if ready(client):
                        return
                except (RedisConnectionError, ResponseError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Redis node {port} not ready within {READY_WAIT:g} s")
                time.sleep(0.05)


def _cluster_ok(client: Redis) -> bool:
    info = client.execute_command("CLUSTER", "INFO").decode()
    fields = dict(line.split(":", 1) for line in info.split() if ":" in line)
    return fields.get("cluster_state") == "ok" and fields.get("cluster_slots_ok") == "16384"


def _replicas_ready(client: Redis) -> bool:
    """This node sees every replica, and, if it is one, copies its master."""
    nodes = client.execute_command("CLUSTER", "NODES").decode()
    replicas = sum("slave" in line.split()[2] for line in nodes.splitlines() if line.strip())
    role = client.info("replication")
    synced = role["role"] == "master" or role.get("master_link_status") == "up"
    return replicas == NODES // 2 and synced
