"""Offline preview: what a stack would register, and the reviewable artifacts, with no CLI or cloud.

The real program runs on the mock engine with the stack's committed config. Values that only a
provider can compute (ARNs, e-mails, endpoints, auto-name suffixes) appear as ``<placeholders>``,
and secrets as ``[secret]``.
"""

import json
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from keyless.config.read import from_stack_file, project_main
from keyless.core.azure import role_name
from keyless.core.login_request import LoginRequest
from keyless.core.problems import InvalidArgumentError
from keyless.preview.engine import (
    EXAMPLE_ACCOUNT,
    EXAMPLE_AKS_OIDC_ID,
    EXAMPLE_CA,
    EXAMPLE_EKS_OIDC_ID,
    EXAMPLE_ENDPOINT,
    EXAMPLE_PROJECT_NUMBER,
    EXAMPLE_TENANT,
    ProgramRun,
    Registration,
    Secret,
    program_error,
    run_program,
)
from keyless.preview.root import project_root
from keyless.record import urn_type

DEFAULT_KUBERNETES_VERSION = "1.33"
"""Kubernetes version the YAML is validated against when the stack does not pin one (GKE channels move)."""

_PLACEHOLDERS = {
    EXAMPLE_ACCOUNT: "<account-id>",
    EXAMPLE_EKS_OIDC_ID: "<oidc-id>",
    EXAMPLE_ENDPOINT: "<endpoint>",
    EXAMPLE_CA: "<ca-data>",
    EXAMPLE_PROJECT_NUMBER: "<project-number>",
    EXAMPLE_TENANT: "<tenant-id>",
    EXAMPLE_AKS_OIDC_ID: "<aks-oidc-id>",
}
# Files are numbered so that `kubectl apply -f` on the folder creates what others refer to first.
_APPLY_ORDER = {
    "kubernetes:core/v1:Namespace": 0,
    "kubernetes:core/v1:ServiceAccount": 1,
    "kubernetes:core/v1:ConfigMap": 2,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": 3,
    "kubernetes:batch/v1:Job": 4,
    "kubernetes:rbac.authorization.k8s.io/v1:Role": 5,
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 6,
    "kubernetes:external-secrets.io/v1:SecretStore": 7,
    "kubernetes:external-secrets.io/v1:ClusterSecretStore": 7,
    "kubernetes:external-secrets.io/v1:ExternalSecret": 8,
}
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
_AUTO_SUFFIX = re.compile(r"-[0-9a-f]{8}\b")

# The inputs worth reading per resource type, as dotted paths into the registered inputs.
_INTERESTING: dict[str, tuple[str, ...]] = {
    "gcp:container/cluster:Cluster": (
        "name",
        "location",
        "workloadIdentityConfig.workloadPool",
        "removeDefaultNodePool",
        "releaseChannel.channel",
        "deletionProtection",
        "datapathProvider",
    ),
    "gcp:container/nodePool:NodePool": (
        "nodeCount",
        "nodeConfig.machineType",
        "nodeConfig.workloadMetadataConfig.mode",
    ),
    "gcp:serviceaccount/account:Account": ("accountId", "project"),
    "gcp:serviceaccount/iAMMember:IAMMember": ("role", "member"),
    "gcp:projects/iAMMember:IAMMember": ("role", "member"),
    "aws:eks/cluster:Cluster": ("name", "version", "accessConfig.authenticationMode", "vpcConfig.subnetIds"),
    "aws:eks/nodeGroup:NodeGroup": ("instanceTypes", "scalingConfig"),
    "aws:eks/addon:Addon": ("addonName", "configurationValues"),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": (
        "clusterName",
        "namespace",
        "serviceAccount",
        "disableSessionTags",
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url", "clientIdLists", "thumbprintLists"),
    "aws:iam/role:Role": ("description", "permissionsBoundary"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "azure-native:containerservice:ManagedCluster": (
        "resourceName",
        "location",
        "enableRBAC",
        "disableLocalAccounts",
        "oidcIssuerProfile.enabled",
        "securityProfile.workloadIdentity.enabled",
        "networkProfile.networkPolicy",
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ("resourceName", "location"),
    "azure-native:managedidentity:FederatedIdentityCredential": ("subject", "audiences"),
    "azure-native:authorization:RoleAssignment": ("roleDefinitionId", "scope"),
    "pulumi:providers:kubernetes": ("kubeconfig", "context"),
    "pulumiservice:index:OidcIssuer": ("organization", "name", "url", "maxExpirationSeconds", "policies"),
    "kubernetes:core/v1:Namespace": ("metadata.name", "metadata.labels.pod-security.kubernetes.io/enforce"),
    "kubernetes:core/v1:ServiceAccount": (
        "metadata.namespace",
        "metadata.name",
        "metadata.annotations",
        "automountServiceAccountToken",
    ),
    "kubernetes:core/v1:ConfigMap": ("metadata.namespace", "immutable"),
    "kubernetes:batch/v1:Job": (
        "metadata.namespace",
        "spec.template.spec.serviceAccountName",
        "spec.template.spec.containers.0.image",
        "spec.backoffLimit",
        "spec.activeDeadlineSeconds",
    ),
}


def placeholder_text(text: str, auto_names: Iterable[str] = ()) -> str:
    """Replace the mock engine's example values with ``<placeholders>``."""
    for value, label in _PLACEHOLDERS.items():
        text = text.replace(value, label)
    for name in sorted(auto_names, key=len, reverse=True):
        text = text.replace(name, _AUTO_SUFFIX.sub("-<auto>", name))
    return text


_PLACEHOLDER = re.compile(r"<([a-z][a-z-]*)>")


def markdown_placeholders(text: str) -> str:
    """``<placeholders>`` written so that Markdown shows them rather than taking them for HTML tags:
    entities in text, Mermaid's own escapes inside a Mermaid block."""
    lines, mermaid = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            mermaid = line == "```mermaid"
        escape = r"#lt;\1#gt;" if mermaid else r"&lt;\1&gt;"
        lines.append(_PLACEHOLDER.sub(escape, line))
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def displayed(value: Any, auto_names: Iterable[str] = ()) -> Any:
    """The value as shown to a reviewer: secrets masked, computed values as placeholders."""
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {placeholder_text(key, auto_names): displayed(item, auto_names) for key, item in value.items()}
    if isinstance(value, list):
        return [displayed(item, auto_names) for item in value]
    if isinstance(value, str):
        return placeholder_text(value, auto_names)
    return value


def _lookup(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    parts = path.split(".")
    index = 0
    while index < len(parts):
        if isinstance(value, Secret):
            return value
        if isinstance(value, list) and parts[index].isdigit():
            position = int(parts[index])
            value = value[position] if position < len(value) else None
            index += 1
            continue
        if not isinstance(value, dict):
            return None
        # Label keys contain dots: take the longest key that matches the remaining path.
        for end in range(len(parts), index, -1):
            key = ".".join(parts[index:end])
            if key in value:
                value = value[key]
                index = end
                break
        else:
            return None
    return value


@dataclass
class Preview:
    stack: str
    run: ProgramRun
    kubernetes_version: str
    project: str = "keyless"

    @property
    def auto_names(self) -> list[str]:
        names = []
        for registration in self.run.registrations:
            if registration.type.startswith("kubernetes:") and "name" not in registration.inputs.get("metadata", {}):
                state_name = registration.state.get("metadata", {}).get("name")
                if state_name:
                    names.append(state_name)
            if registration.type == "aws:iam/role:Role" and "name" not in registration.inputs:
                names.append(registration.state.get("name", ""))
        return [name for name in names if name]

    def show(self, value: Any) -> Any:
        return displayed(value, self.auto_names)

    def tree(self) -> str:
        # The engine registers concurrently, so registration order varies between runs: siblings
        # are sorted by name and type to keep the output (and a diff of it) stable.
        registrations = sorted(self.run.registrations, key=lambda r: (r.name, r.type))
        children: dict[str, list[Registration]] = {}
        for registration in registrations:
            children.setdefault(registration.parent, []).append(registration)
        known = {registration.urn for registration in registrations}
        roots = [r for r in registrations if r.parent not in known]
        lines = [
            f"Previewing {self.project}/{self.stack} offline: the program runs on Pulumi's mock engine,",
            "no provider, cloud or Pulumi Cloud is contacted. <placeholders> are known after deployment.",
            "",
            f"     {'Type':<54} Name",
            f" +   {'pulumi:pulumi:Stack':<54} {self.project}-{self.stack}",
        ]

        def walk(nodes: list[Registration], prefix: str) -> None:
            for position, node in enumerate(nodes):
                last = position == len(nodes) - 1
                branch = "└─ " if last else "├─ "
                lines.append(f" +   {prefix}{branch}{node.type:<{max(1, 51 - len(prefix))}} {node.name}")
                detail_prefix = prefix + ("   " if last else "│  ")
                for path in _INTERESTING.get(node.type, ()):
                    value = _lookup(node.inputs, path)
                    if value is None:
                        continue
                    shown = json.dumps(self.show(value), sort_keys=True)
                    lines.append(f"     {detail_prefix}    {path}: {shown}")
                walk(children.get(node.urn, []), detail_prefix)

        walk(roots, "")
        lines += ["", "Outputs:"]
        for key in sorted(self.run.outputs):
            lines.append(f"    {key}: {json.dumps(self.show(self.run.outputs[key]), sort_keys=True)}")
        resource_count = 1 + len(registrations)
        lines += ["", "Resources:", f"    + {resource_count} to create"]
        return "\n".join(lines) + "\n"

    def kubernetes_documents(self) -> list[tuple[str, dict[str, Any]]]:
        documents = []
        objects = sorted(
            (r for r in self.run.registrations if r.type.startswith("kubernetes:") and r.custom),
            key=lambda r: (_APPLY_ORDER.get(r.type, len(_APPLY_ORDER)), r.name),
        )
        for index, registration in enumerate(objects):
            document = self.show(registration.inputs)
            metadata = dict(document.get("metadata") or {})
            if "name" not in metadata:
                # Auto-named by Pulumi: the name gets a random suffix at deployment.
                metadata["name"] = self.show(registration.state["metadata"]["name"])
            document["metadata"] = metadata
            kind = str(document.get("kind", registration.type.rsplit(":", 1)[-1])).lower()
            documents.append((f"{index + 1:02d}-{kind}-{registration.name}.yaml", document))
        return documents

    def trust_policies(self) -> list[tuple[str, Any]]:
        policies = []
        for registration in sorted(self.run.of_type("aws:iam/role:Role"), key=lambda r: r.name):
            if not urn_type(registration.parent).endswith(("IrsaRole", "EksPodIdentity")):
                continue
            document = json.loads(registration.plain_inputs["assumeRolePolicy"])
            policies.append((f"iam-role-{registration.name}-trust-policy.json", self.show(document)))
        return policies

    def azure_identities(self) -> list[tuple[str, Any]]:
        """Each user-assigned identity: its federated credentials in the order they are written (each
        waits for the one before), and its role assignments."""
        found = []
        for identity in sorted(self.run.of_type(IDENTITY), key=lambda r: r.name):
            children = [r for r in self.run.registrations if r.parent == identity.parent]
            credentials = [r for r in children if r.type == CREDENTIAL]
            document = {
                "identity": identity.plain_inputs.get("resourceName"),
                "resourceGroup": identity.plain_inputs.get("resourceGroupName"),
                "federatedCredentials": [
                    {
                        "name": r.plain_inputs.get("federatedIdentityCredentialResourceName"),
                        "issuer": r.plain_inputs.get("issuer"),
                        "subject": r.plain_inputs.get("subject"),
                        "audiences": r.plain_inputs.get("audiences"),
                        "after": [
                            c.plain_inputs.get("federatedIdentityCredentialResourceName")
                            for c in credentials
                            if c.urn in r.dependencies
                        ],
                    }
                    for r in credentials
                ],
                "roleAssignments": [
                    {
                        "role": role_name(str(r.plain_inputs.get("roleDefinitionId"))),
                        "scope": r.plain_inputs.get("scope"),
                    }
                    for r in children
                    if r.type == ASSIGNMENT
                ],
            }
            found.append((f"identity-{identity.name}.json", self.show(document)))
        return found

    def issuer_registrations(self) -> list[tuple[str, Any]]:
        return [
            (f"oidc-issuer-{registration.name}.json", self.show(registration.inputs))
            for registration in sorted(self.run.of_type("pulumiservice:index:OidcIssuer"), key=lambda r: r.name)
        ]

    def login_job_summary(self) -> dict[str, Any] | None:
        jobs = [j for j in self.run.of_type("kubernetes:batch/v1:Job") if j.parent.endswith("OidcLoginJob::" + j.name)]
        if not jobs:
            return None
        job = jobs[0].plain_inputs
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        env = {item["name"]: item["value"] for item in container.get("env", [])}
        projection = next(
            source["serviceAccountToken"]
            for volume in pod["volumes"]
            if "projected" in volume
            for source in volume["projected"]["sources"]
            if "serviceAccountToken" in source
        )
        request = LoginRequest.from_environment(env)
        return self.show(
            {
                "namespace": job["metadata"]["namespace"],
                "serviceAccount": pod["serviceAccountName"],
                "image": container["image"],
                "tokenAudience": projection["audience"],
                "projectedTokenLifetimeSeconds": projection["expirationSeconds"],
                "exchangedTokenLifetime": request.lifetime,
                "tokenFile": request.token_file,
                "loginCommand": request.argv(),
                "thenRuns": ["pulumi", "whoami", "-v", "--json"],
                "activeDeadlineSeconds": job["spec"]["activeDeadlineSeconds"],
                "backoffLimit": job["spec"]["backoffLimit"],
                "runAsUser": pod["securityContext"]["runAsUser"],
            }
        )

    def write(self, directory: Path) -> list[Path]:
        """Write the artifacts under ``directory`` (emptied first, so reruns are byte-identical)."""
        if directory.exists():
            shutil.rmtree(directory)
        written: list[Path] = []

        def put(relative: str, text: str) -> None:
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)

        put("preview.txt", self.tree())
        for filename, document in self.kubernetes_documents():
            put(f"kubernetes/{filename}", kubernetes_yaml(document))
        for filename, policy in self.trust_policies():
            put(f"aws/{filename}", json.dumps(policy, indent=2, sort_keys=True) + "\n")
        for filename, identity in self.azure_identities():
            put(f"azure/{filename}", json.dumps(identity, indent=2, sort_keys=True) + "\n")
        for filename, issuer in self.issuer_registrations():
            put(f"pulumi-cloud/{filename}", json.dumps(issuer, indent=2, sort_keys=True) + "\n")
        from keyless.policies import access_map
        from keyless.policies.offline import report, violations

        subject = f"{self.project}/{self.stack}"
        put("policy.txt", placeholder_text(report(violations(self.run), subject), self.auto_names))
        put(
            "access-map.md",
            markdown_placeholders(placeholder_text(access_map.render(self.run, subject), self.auto_names)),
        )
        summary = self.login_job_summary()
        if summary is not None:
            put("login-job.json", json.dumps(summary, indent=2, sort_keys=True) + "\n")
        put(
            "metadata.json",
            json.dumps({"stack": self.stack, "kubernetesVersion": self.kubernetes_version}, indent=2, sort_keys=True)
            + "\n",
        )
        return written


class _ReviewDumper(yaml.SafeDumper):
    """YAML for a reviewer: a multi-line string (a script) as a block scalar, line by line."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReviewDumper.add_representer(str, _text)


def kubernetes_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_ReviewDumper, sort_keys=True, default_flow_style=False, width=120)


def target_kubernetes_version(values: Mapping[str, str]) -> str:
    eks = values.get("keyless:eks")
    if eks:
        try:
            version = json.loads(eks).get("kubernetesVersion")
        except (ValueError, AttributeError):
            version = None
        if isinstance(version, str):
            return version
    return DEFAULT_KUBERNETES_VERSION


class ProgramError(Exception):
    """The program failed on its own (not through its config): its message names its file and line."""


def program_file(root: Path) -> Path:
    """The program Pulumi runs for the project at ``root`` (``main:`` in Pulumi.yaml, if set)."""
    main = project_main(root)
    path = root / main if main else root
    return path / "__main__.py" if path.is_dir() else path


def preview_stack(stack: str, root: Path | None = None, *, preview: bool = False) -> Preview:
    """Run the program for ``stack`` offline: as ``pulumi up`` would (example values for what
    providers compute), or as ``pulumi preview`` would (``preview=True``: those values unknown).

    Raises the program's own :class:`~keyless.core.problems.InvalidArgumentError` on bad config,
    :class:`ProgramError` when the program fails otherwise, and ``FileNotFoundError`` or
    :class:`~keyless.config.read.StackFileError` when the project or stack file is unreadable.
    """
    base = root or project_root()
    raw = from_stack_file(stack, base)
    program = program_file(base)
    if not program.is_file():
        raise FileNotFoundError(f"no program at {program}: this reads Python programs (a __main__.py)")
    run = run_program(
        raw.values,
        project=raw.project,
        stack=stack,
        secret_keys=raw.secret_keys,
        program=program,
        raise_errors=False,
        preview=preview,
    )
    if isinstance(run.error, InvalidArgumentError):
        raise run.error
    if run.error is not None:
        raise ProgramError(program_error(run.error, program))
    return Preview(stack, run, target_kubernetes_version(raw.values), raw.project)
