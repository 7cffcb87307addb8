"""Run a Pulumi program on the SDK's in-process mock engine and record what it registers.

The mocks play the providers: they echo a resource's inputs back as its state and fill in
what a provider would compute (ARNs, e-mails, issuer URLs, auto-names) with recognisable,
deterministic example values (AWS's documented example account ``123456789012``, the EKS
example issuer id, ``203.0.113.0/24`` test-net addresses), so that the same program gives
the same record on every run.
"""

import hashlib
import runpy
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import settings as runtime_settings

from keyless.preview.root import project_root

EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_PROJECT_NUMBER = "314159265358"
EXAMPLE_EKS_OIDC_ID = "EXAMPLED539D4633E53DE1B71EXAMPLE"
EXAMPLE_ENDPOINT = "203.0.113.10"
EXAMPLE_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkVYQU1QTEUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class Secret:
    """A value the program marked secret: kept for assertions, masked when shown."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret([secret])"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


def reveal(value: Any) -> Any:
    """The value with every secret unwrapped (for assertions)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def _from_wire(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return Secret(_from_wire(value.get("value")))
        return {key: _from_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_wire(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Registration:
    """One resource as the engine received it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    """Earlier names (``name`` of each alias spec, or alias URNs) this resource answers to."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        return reveal(self.inputs)


@dataclass
class Invocation:
    token: str
    args: dict[str, Any]


@dataclass
class ProgramRun:
    registrations: list[Registration]
    invocations: list[Invocation]
    outputs: dict[str, Any]
    error: BaseException | None = None

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_token} named {name!r}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def depends_on(self, resource: Registration, other: Registration) -> bool:
        """True when ``resource`` waits for ``other`` (directly, or for a component holding it)."""
        ancestors = set()
        urn = other.urn
        while urn:
            ancestors.add(urn)
            urn = next((r.parent for r in self.registrations if r.urn == urn), "")
        return bool(ancestors & set(resource.dependencies))


def _auto_name(name: str) -> str:
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _config(key: str) -> str | None:
    value = runtime_config.get_config(key)
    return value if isinstance(value, str) else None


class ProviderMocks(pulumi.runtime.Mocks):
    """Provider stand-ins: inputs come back as state, computed fields get example values."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        typ, name = args.typ, args.name
        if typ.startswith("kubernetes:") and not typ.startswith("kubernetes:index/provider"):
            metadata = dict(state.get("metadata") or {})
            metadata.setdefault("name", _auto_name(name))
            state["metadata"] = metadata
        elif typ == "gcp:container/cluster:Cluster":
            state.update(
                endpoint=EXAMPLE_ENDPOINT,
                masterAuth={
                    "clusterCaCertificate": EXAMPLE_CA,
                    "clientCertificateConfig": {"issueClientCertificate": False},
                },
            )
        elif typ == "gcp:serviceaccount/account:Account":
            email = f"{state['accountId']}@{state.get('project', 'example-project')}.iam.gserviceaccount.com"
            state.update(email=email, name=f"projects/{state.get('project')}/serviceAccounts/{email}")
        elif typ == "aws:eks/cluster:Cluster":
            region = _config("aws:region") or "us-west-2"
            state.update(
                arn=f"arn:aws:eks:{region}:{EXAMPLE_ACCOUNT}:cluster/{state.get('name', name)}",
                endpoint=f"https://{EXAMPLE_EKS_OIDC_ID}.gr7.{region}.eks.amazonaws.com",
                certificateAuthority={"data": EXAMPLE_CA},
                identities=[
                    {"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{EXAMPLE_EKS_OIDC_ID}"}]}
                ],
            )
        elif typ == "aws:iam/role:Role":
            role_name = state.get("name") or _auto_name(name)
            state.update(name=role_name, arn=f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/{role_name}")
        elif typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(state.get("url", "")).removeprefix("https://")
            state["arn"] = f"arn:aws:iam::{EXAMPLE_ACCOUNT}:oidc-provider/{host}"
        resource_id = None if typ.startswith("kubernetes:index/provider") else f"{name}-id"
        return resource_id, state

    # The SDK's annotation says (dict, failures); a plain dict of camelCase outputs is what it expects.
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.invocations.append(Invocation(args.token, dict(args.args)))
        region = _config("aws:region") or "us-west-2"
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": EXAMPLE_ACCOUNT,
                "accountId": EXAMPLE_ACCOUNT,
                "arn": f"arn:aws:iam::{EXAMPLE_ACCOUNT}:user/example",
                "userId": "AIDAEXAMPLEUSERID0000",
            }
        if args.token == "aws:index/getPartition:getPartition":
            return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": "vpc-0example0000000001", "default": True, "cidrBlock": "172.31.0.0/16"}
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"id": region, "ids": ["subnet-0e1a2b3c4d5e6f70a", "subnet-0e1a2b3c4d5e6f70b"]}
        if args.token == "aws:eks/getCluster:getCluster":
            cluster = args.args.get("name", "cluster")
            return {
                "id": cluster,
                "name": cluster,
                "arn": f"arn:aws:eks:{region}:{EXAMPLE_ACCOUNT}:cluster/{cluster}",
                "endpoint": f"https://{EXAMPLE_EKS_OIDC_ID}.gr7.{region}.eks.amazonaws.com",
                "certificateAuthorities": [{"data": EXAMPLE_CA}],
                "identities": [
                    {"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{EXAMPLE_EKS_OIDC_ID}"}]}
                ],
            }
        if args.token == "gcp:organizations/getProject:getProject":
            project = args.args.get("projectId", "example-project")
            return {
                "id": f"projects/{project}",
                "projectId": project,
                "number": EXAMPLE_PROJECT_NUMBER,
                "name": project,
            }
        if args.token == "gcp:container/getCluster:getCluster":
            project = args.args.get("project", "example-project")
            return {
                "id": args.args.get("name", "cluster"),
                "endpoint": EXAMPLE_ENDPOINT,
                "masterAuths": [{"clusterCaCertificate": EXAMPLE_CA}],
                "workloadIdentityConfigs": [{"workloadPool": f"{project}.svc.id.goog"}],
            }
        return {}


class DuplicateUrnError(RuntimeError):
    """Two resources share a URN: the real engine fails the whole update (the SDK's mocks do not)."""


class RecordingMonitor(runtime_mocks.MockMonitor):
    """The SDK's mock monitor, recording each registration as the engine would see it, and
    refusing what the real engine refuses: a second resource with a URN already registered."""

    def __init__(self, mocks: ProviderMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.duplicates: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        earlier = next((r for r in self.registrations if r.urn == response.urn), None)
        if earlier is not None:
            message = (
                f"duplicate URN {response.urn}: a {request.type} named {request.name!r} (parent {request.parent or '-'}) "
                f"and an earlier {earlier.type} named {earlier.name!r} (parent {earlier.parent or '-'}); "
                "the engine refuses the update"
            )
            # Recorded, and raised once the program is done (raising here would leave the SDK's
            # futures unobserved): the run fails as the real update would.
            self.duplicates.append(message)
        if request.type != "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.object, preserving_proto_field_name=True)
            state = json_format.MessageToDict(response.object, preserving_proto_field_name=True)
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=bool(request.custom),
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    inputs=_from_wire(wire),
                    state=_from_wire(state),
                    aliases=[alias.spec.name or alias.spec.type or alias.urn for alias in request.aliases]
                    + list(request.aliasURNs),
                )
            )
        return response


def run_program(
    config: Mapping[str, Any],
    *,
    project: str = "keyless",
    stack: str = "dev",
    secret_keys: Sequence[str] = (),
    program: Callable[[], object] | Path | None = None,
    raise_errors: bool = True,
) -> ProgramRun:
    """Run ``program`` (a callable, or a program file) with ``config`` and return what it registered.

    With ``raise_errors=False`` a failing program returns its partial record with ``error`` set,
    so a test can check that nothing was registered before the error.
    """
    mocks = ProviderMocks()
    monitor = RecordingMonitor(mocks)
    runtime_config.set_all_config({key: _as_config_string(value) for key, value in config.items()}, list(secret_keys))
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)

    if program is None:
        program = project_root() / "__main__.py"

    def body() -> None:
        if isinstance(program, Path):
            # A program imports its own modules from its folder, as under `pulumi up`.
            folder = str(program.resolve().parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)
            runpy.run_path(str(program), run_name="__main__")
        else:
            program()

    try:
        pulumi.runtime.test(body)()
        if monitor.duplicates:
            raise DuplicateUrnError("\n".join(monitor.duplicates))
    except Exception as error:
        if raise_errors:
            raise
        return ProgramRun(monitor.registrations, mocks.invocations, {}, error)
    stack_resource = runtime_settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for key, output in (getattr(stack_resource, "outputs", None) or {}).items():
        outputs[key] = _resolve(output)
    return ProgramRun(monitor.registrations, mocks.invocations, outputs)


def _as_config_string(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)


def _resolve(value: Any) -> Any:
    """The plain value of a stack output (secrets wrapped in :class:`Secret`)."""
    from pulumi.runtime.sync_await import _sync_await

    output = pulumi.Output.from_input(value)
    resolved = _sync_await(output.future())
    secret = _sync_await(output.is_secret())
    return Secret(resolved) if secret else resolved
