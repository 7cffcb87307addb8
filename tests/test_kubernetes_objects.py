from typing import Any

import pytest

from keyless.components.restricted_namespace import RestrictedNamespace
from keyless.components.workload_service_account import WorkloadServiceAccount
from keyless.core.kubernetes import (
    EKS_IDENTITY_ANNOTATION,
    GKE_IDENTITY_ANNOTATION,
    WORKLOAD_SERVICE_ACCOUNT,
    pod_security_labels,
)
from keyless.core.problems import InvalidArgumentError
from keyless.preview.engine import run_program
from tests.conftest import run_component


def test_namespace_enforces_restricted_pod_security_by_default() -> None:
    run = run_component(lambda: RestrictedNamespace("ns", {"name": "ci", "labels": {"team": "platform"}}))
    metadata = run.one("kubernetes:core/v1:Namespace").plain_inputs["metadata"]
    assert metadata["name"] == "ci"
    assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert metadata["labels"]["pod-security.kubernetes.io/audit"] == "restricted"
    assert metadata["labels"]["team"] == "platform"


def test_pod_security_labels_cannot_be_overridden_by_extra_labels() -> None:
    run = run_component(
        lambda: RestrictedNamespace(
            "ns", {"name": "ci", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}
        )
    )
    assert (
        run.one("kubernetes:core/v1:Namespace").plain_inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )


def test_loosening_pod_security_is_explicit() -> None:
    assert pod_security_labels("baseline")["pod-security.kubernetes.io/enforce"] == "baseline"
    with pytest.raises(InvalidArgumentError, match="pod_security_level: 'none' is not accepted"):
        bad: Any = {"name": "ci", "pod_security_level": "none"}
        run_program({}, program=lambda: RestrictedNamespace("ns", bad))


@pytest.mark.parametrize(
    ("identity", "annotations"),
    [
        (
            {"gcp_service_account_email": "r@p.iam.gserviceaccount.com"},
            {GKE_IDENTITY_ANNOTATION: "r@p.iam.gserviceaccount.com"},
        ),
        (
            {"aws_role_arn": "arn:aws:iam::123456789012:role/r"},
            {EKS_IDENTITY_ANNOTATION: "arn:aws:iam::123456789012:role/r"},
        ),
    ],
)
def test_service_account_is_annotated_with_its_cloud_identity(
    identity: dict[str, str], annotations: dict[str, str]
) -> None:
    run = run_component(lambda: WorkloadServiceAccount("sa", {"namespace": "ci", "name": "runner", **identity}))  # type: ignore[typeddict-item]
    account = run.one("kubernetes:core/v1:ServiceAccount").plain_inputs
    metadata = account["metadata"]
    assert {key: metadata[key] for key in ("name", "namespace", "annotations")} == {
        "name": "runner",
        "namespace": "ci",
        "annotations": annotations,
    }
    assert account["automountServiceAccountToken"] is False


def test_service_account_without_cloud_identity_has_no_annotation() -> None:
    run = run_component(lambda: WorkloadServiceAccount("sa", {"namespace": "ci", "name": "runner"}))
    assert "annotations" not in run.one("kubernetes:core/v1:ServiceAccount").plain_inputs["metadata"]


def test_a_service_account_acts_as_one_cloud_identity_only() -> None:
    problems = WORKLOAD_SERVICE_ACCOUNT.check(
        {"namespace": "ci", "name": "r", "gcp_service_account_email": "a@b", "aws_role_arn": "arn:aws:iam::1:role/r"}
    )
    assert "expected at most one: a service account acts as one cloud identity" in str(problems[0])
    with pytest.raises(InvalidArgumentError, match="expected at most one"):
        WorkloadServiceAccount(
            "sa", {"namespace": "ci", "name": "r", "gcp_service_account_email": "a@b", "aws_role_arn": "arn:x"}
        )


def test_every_object_carries_the_recommended_labels() -> None:
    from keyless.core.kubernetes import label_value

    run = run_component(
        lambda: (
            RestrictedNamespace("ci", {"name": "ci"}),
            WorkloadServiceAccount("ci.runner", {"namespace": "ci", "name": "runner"}),
        )
    )
    for registration in run.registrations:
        if registration.custom:
            labels = registration.plain_inputs["metadata"]["labels"]
            assert labels["app.kubernetes.io/name"] == "keyless"
            assert labels["app.kubernetes.io/managed-by"] == "pulumi"
            assert labels["app.kubernetes.io/instance"] == registration.name
            assert labels["app.kubernetes.io/component"] in ("namespace", "service-account")
    long = "n" * 63 + "." + "s" * 63
    assert len(label_value(long)) <= 63 and label_value(long) != label_value("n" * 63 + "." + "s" * 62 + "t")
