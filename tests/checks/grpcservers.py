"""A real gRPC server on 127.0.0.1 for the grpc checks tests: grpcio's own health servicer
(grpcio-health-checking), whose statuses a test sets, optionally slowed and behind TLS or a
metadata check."""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc


class SlowHealth(health.HealthServicer):
    """The real servicer, which can hold each Check until released (past a deadline), and
    refuse calls without the expected metadata (an auth interceptor's behaviour)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.release = threading.Event()
        self.token: str | None = None
        self.seen: list[tuple[tuple[str, str], ...]] = []

    def Check(self, request, context):
        self.seen.append(tuple(context.invocation_metadata()))
        if self.token is not None:
            got = dict(context.invocation_metadata()).get("authorization")
            if got != f"Bearer {self.token}":
                # as some servers do: the refused credential is echoed in the error
                context.abort(grpc.StatusCode.UNAUTHENTICATED, f"token {got} refused")
        if self.hold.is_set():
            self.release.wait(10)  # held until the test ends: the client's deadline passes
        return super().Check(request, context)


class GrpcHealthServer:
    def __init__(self, credentials: grpc.ServerCredentials | None = None) -> None:
        self.servicer = SlowHealth()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, self.server)
        if credentials is None:
            self.port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            self.port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.server.start()

    def set(self, service: str, status: str) -> None:
        self.servicer.set(service, health_pb2.HealthCheckResponse.ServingStatus.Value(status))

    def stop(self) -> None:
        self.servicer.release.set()
        self.server.stop(grace=None).wait(5)
