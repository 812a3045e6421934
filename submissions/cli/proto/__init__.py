"""Generated gRPC/protobuf modules for the reference harness's energy monitor (``energy.proto``).

Generated with grpcio-tools 1.85.1 (protobuf 7.35.1 gencode), so they need grpcio >= 1.85.1 and
protobuf >= 7.35.1 at run time; the command is at the top of ``energy.proto``.
"""
