"""The stack configuration: ``keyless:*`` keys mapped onto the components' arguments.

``parse(from_runtime())`` in a program, ``parse(from_stack_file(stack, root))`` offline. It
imports no provider SDK: the doctor and the policy check read stacks through it too.
"""

from keyless.config.load import ConfigError, load_stack_config, parse
from keyless.config.model import IssuerConfig, StackConfig
from keyless.config.read import RawConfig, from_runtime, from_stack_file, project_name, stack_names

__all__ = [
    "ConfigError",
    "IssuerConfig",
    "RawConfig",
    "StackConfig",
    "from_runtime",
    "from_stack_file",
    "load_stack_config",
    "parse",
    "project_name",
    "stack_names",
]
