import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATE_UNSPECIFIED: _ClassVar[SessionState]
    SESSION_STATE_PENDING: _ClassVar[SessionState]
    SESSION_STATE_SCHEDULED: _ClassVar[SessionState]
    SESSION_STATE_STARTING: _ClassVar[SessionState]
    SESSION_STATE_RUNNING: _ClassVar[SessionState]
    SESSION_STATE_HIBERNATING: _ClassVar[SessionState]
    SESSION_STATE_HIBERNATED: _ClassVar[SessionState]
    SESSION_STATE_WAKING: _ClassVar[SessionState]
    SESSION_STATE_STOPPING: _ClassVar[SessionState]
    SESSION_STATE_STOPPED: _ClassVar[SessionState]
    SESSION_STATE_FAILED: _ClassVar[SessionState]

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_LOCAL: _ClassVar[Platform]
    PLATFORM_DOCKER: _ClassVar[Platform]
    PLATFORM_KUBERNETES: _ClassVar[Platform]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_USER: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATE_UNSPECIFIED: _ClassVar[AgentState]
    AGENT_STATE_PENDING: _ClassVar[AgentState]
    AGENT_STATE_ONLINE: _ClassVar[AgentState]
    AGENT_STATE_OFFLINE: _ClassVar[AgentState]
    AGENT_STATE_DRAINING: _ClassVar[AgentState]
    AGENT_STATE_REVOKED: _ClassVar[AgentState]
SESSION_STATE_UNSPECIFIED: SessionState
SESSION_STATE_PENDING: SessionState
SESSION_STATE_SCHEDULED: SessionState
SESSION_STATE_STARTING: SessionState
SESSION_STATE_RUNNING: SessionState
SESSION_STATE_HIBERNATING: SessionState
SESSION_STATE_HIBERNATED: SessionState
SESSION_STATE_WAKING: SessionState
SESSION_STATE_STOPPING: SessionState
SESSION_STATE_STOPPED: SessionState
SESSION_STATE_FAILED: SessionState
PLATFORM_UNSPECIFIED: Platform
PLATFORM_LOCAL: Platform
PLATFORM_DOCKER: Platform
PLATFORM_KUBERNETES: Platform
ROLE_UNSPECIFIED: Role
ROLE_USER: Role
ROLE_OPERATOR: Role
ROLE_ADMIN: Role
AGENT_STATE_UNSPECIFIED: AgentState
AGENT_STATE_PENDING: AgentState
AGENT_STATE_ONLINE: AgentState
AGENT_STATE_OFFLINE: AgentState
AGENT_STATE_DRAINING: AgentState
AGENT_STATE_REVOKED: AgentState

class Resources(_message.Message):
    __slots__ = ("cpu_millis", "memory_bytes")
    CPU_MILLIS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    cpu_millis: int
    memory_bytes: int
    def __init__(self, cpu_millis: _Optional[int] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class Capacity(_message.Message):
    __slots__ = ("max_sessions", "active_sessions", "max_cpu_millis", "max_memory_bytes")
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_CPU_MILLIS_FIELD_NUMBER: _ClassVar[int]
    MAX_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_sessions: int
    active_sessions: int
    max_cpu_millis: int
    max_memory_bytes: int
    def __init__(self, max_sessions: _Optional[int] = ..., active_sessions: _Optional[int] = ..., max_cpu_millis: _Optional[int] = ..., max_memory_bytes: _Optional[int] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("id", "name", "display_name", "description", "image", "command", "vnc_port", "resources", "env", "idle_timeout", "persistent_home", "platform", "region", "required_labels", "create_time", "update_time")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class RequiredLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    VNC_PORT_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_HOME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_LABELS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    display_name: str
    description: str
    image: str
    command: _containers.RepeatedScalarFieldContainer[str]
    vnc_port: int
    resources: Resources
    env: _containers.ScalarMap[str, str]
    idle_timeout: _duration_pb2.Duration
    persistent_home: bool
    platform: Platform
    region: str
    required_labels: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., image: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., vnc_port: _Optional[int] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., env: _Optional[_Mapping[str, str]] = ..., idle_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., persistent_home: _Optional[bool] = ..., platform: _Optional[_Union[Platform, str]] = ..., region: _Optional[str] = ..., required_labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Session(_message.Message):
    __slots__ = ("id", "owner_id", "template_id", "agent_id", "state", "state_reason", "version", "display_name", "resources", "create_time", "update_time", "viewer_path")
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    VIEWER_PATH_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_id: str
    template_id: str
    agent_id: str
    state: SessionState
    state_reason: str
    version: int
    display_name: str
    resources: Resources
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    viewer_path: str
    def __init__(self, id: _Optional[str] = ..., owner_id: _Optional[str] = ..., template_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., state: _Optional[_Union[SessionState, str]] = ..., state_reason: _Optional[str] = ..., version: _Optional[int] = ..., display_name: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., viewer_path: _Optional[str] = ...) -> None: ...

class Agent(_message.Message):
    __slots__ = ("id", "platform", "region", "version", "state", "capacity", "labels", "pod", "last_heartbeat_time", "create_time", "platform_problem")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_PROBLEM_FIELD_NUMBER: _ClassVar[int]
    id: str
    platform: Platform
    region: str
    version: str
    state: AgentState
    capacity: Capacity
    labels: _containers.ScalarMap[str, str]
    pod: str
    last_heartbeat_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    platform_problem: str
    def __init__(self, id: _Optional[str] = ..., platform: _Optional[_Union[Platform, str]] = ..., region: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[_Union[AgentState, str]] = ..., capacity: _Optional[_Union[Capacity, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., pod: _Optional[str] = ..., last_heartbeat_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform_problem: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "username", "display_name", "role", "disabled", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    username: str
    display_name: str
    role: Role
    disabled: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., username: _Optional[str] = ..., display_name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., disabled: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ApiKey(_message.Message):
    __slots__ = ("id", "name", "prefix", "create_time", "expire_time", "last_used_time", "user_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_TIME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    prefix: str
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    last_used_time: _timestamp_pb2.Timestamp
    user_id: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., prefix: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_used_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., user_id: _Optional[str] = ...) -> None: ...
