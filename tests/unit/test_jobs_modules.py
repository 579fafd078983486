"""`tally up --jobs MODULE`: each module's register(registry) adds its job classes; a module
that cannot be imported or has no register is one clear error."""

import re

import pytest

from tally_cli.local.jobs import JobsModuleError, registry_with


def test_the_examples_register_their_job_classes() -> None:
    registry = registry_with(("examples.pages", "examples.outbound"))
    assert registry.handler("PublishPageJob") is not None and registry.handler("PostRecordJob") is not None


@pytest.mark.parametrize(("module", "message"), [("no.such.module", "cannot import it"),
                                                 ("examples.files", "has no register(registry)")])  # fmt: skip
def test_a_bad_module_is_a_clear_error(module: str, message: str) -> None:
    with pytest.raises(JobsModuleError, match=re.escape(message)):
        registry_with((module,))
