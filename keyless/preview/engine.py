"""Run a Pulumi program on the SDK's in-process mock engine and record what it registers.

The mocks play the providers: they echo a resource's inputs back as its state and fill in what a
provider computes. Two phases, as the real engine has them:

* ``preview=True`` (``pulumi preview``): only what providers compute at check time is known,
  the auto-names (``name`` of AWS and Google Cloud resources, a Kubernetes ``metadata.name``);
  everything they compute later (ids, ARNs, endpoints, issuers) is unknown, never ``None``.
* ``preview=False`` (``pulumi up``): those values too, as recognisable, deterministic example
  values (AWS's documented example account ``123456789012``, the EKS example issuer id,
  ``203.0.113.0/24`` test-net addresses), so that the same program gives the same record on
  every run. An output no mock computes comes back empty in this phase, so programs are
  checked honestly with ``preview=True`` first (``keyless check``).
"""

import base64
import hashlib
import runpy
import sys
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks as runtime_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings

from keyless.preview.root import project_root
from keyless.record import Invocation, ProgramRun, Registration, Secret, decoded, urn_name, urn_type

EXAMPLE_ACCOUNT = "123456789012"
EXAMPLE_PROJECT_NUMBER = "314159265358"
EXAMPLE_EKS_OIDC_ID = "EXAMPLED539D4633E53DE1B71EXAMPLE"
EXAMPLE_ENDPOINT = "203.0.113.10"
EXAMPLE_POOL_ID = "0b9e6c1a-7d3f-4e52-9a61-2f8c4d7e5b10"
EXAMPLE_POOL_TOKEN = "pul-" + "e" * 40
EXAMPLE_TENANT = "72f988bf-0000-4000-8000-000000000001"
EXAMPLE_AKS_OIDC_ID = "c3a9e1b2-5d4f-4a6b-9c8d-7e6f5a4b3c2d"
EXAMPLE_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkVYQU1QTEUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="


AUTO_NAMING_PROVIDERS = ("aws:", "gcp:")
"""Providers that give a resource without a ``name`` one at check time (an auto-name)."""


def _auto_name(name: str) -> str:
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def checked_inputs(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs once the provider checked them, as the engine passes them on (to the provider
    and to a policy pack): with the auto-names providers fill in at check time."""
    if typ.startswith("kubernetes:") and not typ.startswith("kubernetes:index/provider"):
        metadata = dict(inputs.get("metadata") or {})
        metadata.setdefault("name", _auto_name(name))
        return {**inputs, "metadata": metadata}
    if typ.startswith(AUTO_NAMING_PROVIDERS) and "name" not in inputs:
        return {**inputs, "name": _auto_name(name)}
    return inputs


def _config(key: str) -> str | None:
    value = runtime_config.get_config(key)
    return value if isinstance(value, str) else None


class ProviderMocks(pulumi.runtime.Mocks):
    """Provider stand-ins: inputs come back as state, computed fields get example values."""

    def __init__(self, preview: bool = False) -> None:
        self.invocations: list[Invocation] = []
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        typ, name = args.typ, args.name
        state = checked_inputs(typ, name, dict(args.inputs))
        if self.preview:
            if typ == "azure-native:containerservice:ManagedCluster":
                # A nested computed output: unknown during a preview, as the provider reports it.
                profile = dict(state.get("oidcIssuerProfile") or {})
                state["oidcIssuerProfile"] = {**profile, "issuerURL": rpc.UNKNOWN}
            return None, state
        if typ == "gcp:container/cluster:Cluster":
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
            state["arn"] = f"arn:aws:iam::{EXAMPLE_ACCOUNT}:role/{state['name']}"
        elif typ.startswith("azure-native:"):
            state.update(_azure_state(typ, name, state))
        elif typ == "pulumiservice:index:AgentPool":
            # The pool's creation-time token: a test proves it reaches nothing but the pool's state.
            state.update(agentPoolId=EXAMPLE_POOL_ID, tokenValue=EXAMPLE_POOL_TOKEN)
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
        if args.token == "azure-native:containerservice:getManagedCluster":
            location = _config("azure-native:location") or "westeurope"
            return {"name": args.args.get("resourceName"), "location": location, **_aks_issuer(location)}
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            cluster = str(args.args.get("resourceName"))
            return {
                "kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(_aks_kubeconfig(cluster)).decode()}]
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


def _aks_issuer(location: str) -> dict[str, Any]:
    return {
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{EXAMPLE_TENANT}/{EXAMPLE_AKS_OIDC_ID}/",
        }
    }


def _aks_kubeconfig(cluster: str) -> bytes:
    """What AKS lists as a user kubeconfig in the exec format: it runs kubelogin."""
    return (
        f"apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n"
        f"    server: https://{cluster}-dns.hcp.westeurope.azmk8s.io:443\n    certificate-authority-data: {EXAMPLE_CA}\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: clusterUser_{cluster}\n"
        f"current-context: {cluster}\nusers:\n- name: clusterUser_{cluster}\n  user:\n    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n"
        "      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]\n"
    ).encode()


def _azure_state(typ: str, name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What Azure computes: ids, names, the cluster's issuer, an identity's client and principal ids."""
    own = str(inputs.get("resourceName") or inputs.get("resourceGroupName") or name)
    state: dict[str, Any] = {"name": own}
    if typ == "azure-native:containerservice:ManagedCluster":
        state.update(_aks_issuer(str(inputs.get("location") or "westeurope")))
    elif typ == "azure-native:managedidentity:UserAssignedIdentity":
        state.update(
            clientId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"client/{own}")),
            principalId=str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{own}")),
            tenantId=EXAMPLE_TENANT,
        )
    elif typ == "azure-native:managedidentity:FederatedIdentityCredential":
        state["name"] = str(inputs.get("federatedIdentityCredentialResourceName") or name)
    return state


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class DuplicateUrnError(RuntimeError):
    """Two resources share a URN: the real engine fails the whole update (the SDK's mocks do not)."""


class RecordingMonitor(runtime_mocks.MockMonitor):
    """The SDK's mock monitor, recording each registration as the engine would see it, and
    refusing what the real engine refuses: a second resource with a URN already registered."""

    def __init__(self, mocks: ProviderMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.answers: dict[str, list[str]] = {}
        """The URNs each registered resource answers to, by its URN."""
        self.duplicates: list[str] = []

    def make_urn(self, parent: str, type_: str, name: str, stack: str = "", project: str = "") -> str:
        """A URN as the engine makes it (``resource.NewURN``): the parent's whole type chain, and
        none for a resource whose parent is the stack. The SDK's mock takes only the parent's last
        type and keeps the stack's, which no deployed stack's URNs do."""
        chain = parent.split("::")[2] if parent else ""
        if chain and chain != ROOT_STACK_TYPE:
            type_ = f"{chain}${type_}"
        return f"urn:pulumi:{stack or pulumi.get_stack()}::{project or pulumi.get_project()}::{type_}::{name}"

    def answers_to(self, request: Any) -> list[str]:
        """Every URN the engine lets this resource take over (``stepGenerator.generateAliases``): its
        own aliases as URNs, and each URN its parent answers to with this resource beneath it, so a
        renamed or retyped component carries its children along."""
        own = [alias.urn or self._alias_urn(request, alias.spec) for alias in request.aliases]
        own += request.aliasURNs
        beneath = [(request.type, request.name), *((urn_type(urn), urn_name(urn)) for urn in own)]
        inherited = [
            self._inherited(type_, name, urn_name(request.parent), parent_alias)
            for parent_alias in self.answers.get(request.parent, ())
            for type_, name in beneath
        ]
        return list(dict.fromkeys([*own, *inherited]))

    def _alias_urn(self, request: Any, spec: Any) -> str:
        """An alias spec as the URN it stands for (``collapseAliasToUrn``): what it leaves out is the
        resource's own, its parent included unless ``noParent``."""
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name, spec.stack, spec.project)

    def _inherited(self, type_: str, name: str, parent_name: str, parent_alias: str) -> str:
        """A child's URN under an alias of its parent (``inheritedChildAlias``): a name that starts
        with the parent's name takes the alias's name in its place."""
        if name.startswith(parent_name):
            name = urn_name(parent_alias) + name[len(parent_name) :]
        return self.make_urn(parent_alias, type_, name)

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
                    inputs=decoded(wire),
                    wire=checked_inputs(request.type, request.name, wire),
                    state=decoded(state),
                    aliases=[alias.spec.name or alias.spec.type or alias.urn for alias in request.aliases]
                    + list(request.aliasURNs),
                    answers_to=self.answers.setdefault(response.urn, self.answers_to(request)),
                    secret_outputs=list(request.additionalSecretOutputs),
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
    preview: bool = False,
) -> ProgramRun:
    """Run ``program`` (a callable, or a program file) with ``config`` and return what it registered.

    ``preview=True`` runs it as ``pulumi preview`` would: provider-computed outputs are unknown.

    With ``raise_errors=False`` a failing program returns its partial record with ``error`` set,
    so a test can check that nothing was registered before the error.
    """
    mocks = ProviderMocks(preview)
    monitor = RecordingMonitor(mocks)
    runtime_config.set_all_config({key: _as_config_string(value) for key, value in config.items()}, list(secret_keys))
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)

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


def program_error(error: BaseException, program: Path) -> str:
    """The error a program raised, as its own: a clear error of the program (a ``RunError``, such
    as invalid config) by its message; anything else by the program's file and line that raised
    it, without a traceback of the mock engine's frames."""
    if isinstance(error, (pulumi.RunError, DuplicateUrnError)):
        return str(error)
    folder = program.resolve().parent
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve().is_relative_to(folder)]
    where = f"{frames[-1].filename}:{frames[-1].lineno}: " if frames else ""
    return f"{where}{type(error).__name__}: {error}"
