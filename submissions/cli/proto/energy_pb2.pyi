from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("healthy", "platform")
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    healthy: bool
    platform: str
    def __init__(self, healthy: _Optional[bool] = ..., platform: _Optional[str] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SystemInfo(_message.Message):
    __slots__ = ("os_name", "os_version", "kernel_version", "host_name", "cpu_count", "cpu_brand")
    OS_NAME_FIELD_NUMBER: _ClassVar[int]
    OS_VERSION_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    HOST_NAME_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    CPU_BRAND_FIELD_NUMBER: _ClassVar[int]
    os_name: str
    os_version: str
    kernel_version: str
    host_name: str
    cpu_count: int
    cpu_brand: str
    def __init__(self, os_name: _Optional[str] = ..., os_version: _Optional[str] = ..., kernel_version: _Optional[str] = ..., host_name: _Optional[str] = ..., cpu_count: _Optional[int] = ..., cpu_brand: _Optional[str] = ...) -> None: ...

class GpuInfo(_message.Message):
    __slots__ = ("name", "vendor", "device_id", "device_type", "backend")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TYPE_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: str
    device_id: int
    device_type: str
    backend: str
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[str] = ..., device_id: _Optional[int] = ..., device_type: _Optional[str] = ..., backend: _Optional[str] = ...) -> None: ...

class TelemetryReading(_message.Message):
    __slots__ = ("power_watts", "energy_joules", "temperature_celsius", "gpu_memory_usage_mb", "cpu_memory_usage_mb", "platform", "timestamp_nanos", "system_info", "gpu_info")
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    GPU_MEMORY_USAGE_MB_FIELD_NUMBER: _ClassVar[int]
    CPU_MEMORY_USAGE_MB_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_NANOS_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_INFO_FIELD_NUMBER: _ClassVar[int]
    GPU_INFO_FIELD_NUMBER: _ClassVar[int]
    power_watts: float
    energy_joules: float
    temperature_celsius: float
    gpu_memory_usage_mb: float
    cpu_memory_usage_mb: float
    platform: str
    timestamp_nanos: int
    system_info: SystemInfo
    gpu_info: GpuInfo
    def __init__(self, power_watts: _Optional[float] = ..., energy_joules: _Optional[float] = ..., temperature_celsius: _Optional[float] = ..., gpu_memory_usage_mb: _Optional[float] = ..., cpu_memory_usage_mb: _Optional[float] = ..., platform: _Optional[str] = ..., timestamp_nanos: _Optional[int] = ..., system_info: _Optional[_Union[SystemInfo, _Mapping]] = ..., gpu_info: _Optional[_Union[GpuInfo, _Mapping]] = ...) -> None: ...
