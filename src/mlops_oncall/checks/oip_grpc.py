"""The Open Inference Protocol's readiness calls over gRPC, as protobuf messages.

The six messages are the ones of KServe's ``grpc_predict_v2.proto`` (package ``inference``,
service ``GRPCInferenceService``; kserve/kserve ``docs/predict-api/v2/grpc_predict_v2.proto``,
Copyright 2020 kubeflow.org, Apache License 2.0), which Triton, MLServer and KServe serve. They
are built here from a descriptor with the same names, field numbers and types instead of
generated ``_pb2`` code, so they load under any protobuf runtime grpcio accepts (generated code
pins the runtime to at least the generator's version). Only the calls a health check makes are
declared: ServerLive, ServerReady and ModelReady.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "inference"
SERVICE = "inference.GRPCInferenceService"
SERVER_LIVE = f"/{SERVICE}/ServerLive"
SERVER_READY = f"/{SERVICE}/ServerReady"
MODEL_READY = f"/{SERVICE}/ModelReady"

_BOOL = descriptor_pb2.FieldDescriptorProto.TYPE_BOOL
_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
# message name -> its fields (name, number, type), as in grpc_predict_v2.proto
_MESSAGES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "ServerLiveRequest": (),
    "ServerLiveResponse": (("live", 1, _BOOL),),
    "ServerReadyRequest": (),
    "ServerReadyResponse": (("ready", 1, _BOOL),),
    "ModelReadyRequest": (("name", 1, _STRING), ("version", 2, _STRING)),
    "ModelReadyResponse": (("ready", 1, _BOOL),),
}


def _classes() -> dict[str, Any]:
    proto = descriptor_pb2.FileDescriptorProto(
        name="mlops_oncall/grpc_predict_v2_health.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        msg = proto.message_type.add(name=name)
        for field_name, number, kind in fields:
            msg.field.add(
                name=field_name,
                number=number,
                type=kind,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
    pool = descriptor_pool.DescriptorPool()  # our own: never clashes with a generated module
    pool.Add(proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in _MESSAGES
    }


def methods() -> dict[str, tuple[Any, Any]]:
    """Full method name -> (request class, response class)."""
    c = _classes()
    return {
        SERVER_LIVE: (c["ServerLiveRequest"], c["ServerLiveResponse"]),
        SERVER_READY: (c["ServerReadyRequest"], c["ServerReadyResponse"]),
        MODEL_READY: (c["ModelReadyRequest"], c["ModelReadyResponse"]),
    }
