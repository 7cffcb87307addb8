"""The domain's rules, free of any provider SDK: what the components, the stack config, the
command-line tools and the policies all check, each rule written once.

Modules: :mod:`~keyless.core.problems` (how rules report), :mod:`~keyless.core.values` (single
values), :mod:`~keyless.core.spec` (argument sets), and one module per part of the domain:
:mod:`~keyless.core.pulumi_cloud`, :mod:`~keyless.core.kubernetes`, :mod:`~keyless.core.login_job`,
:mod:`~keyless.core.aws`, :mod:`~keyless.core.gcp`, :mod:`~keyless.core.existing_cluster`,
:mod:`~keyless.core.naming`.
"""

from keyless.core.problems import MISSING, UNKNOWN, InvalidArgumentError, Problem, raise_problems
from keyless.core.spec import Field, Spec

__all__ = ["MISSING", "UNKNOWN", "Field", "InvalidArgumentError", "Problem", "Spec", "raise_problems"]
