"""Job classes from the user's modules (``--jobs examples.pages``): each module's
``register(registry)`` adds its handlers to the registry the pipeline runs."""

import importlib

from processor_lambda.registry import Registry
from tally_contract.errors import TallyError


class JobsModuleError(TallyError):
    """A --jobs module cannot be imported or has no register(registry)."""


def registry_with(modules: tuple[str, ...]) -> Registry:
    registry = Registry()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise JobsModuleError(f"--jobs {name}: cannot import it ({exc})") from None
        register = getattr(module, "register", None)
        if not callable(register):
            raise JobsModuleError(f"--jobs {name}: it has no register(registry) function")
        register(registry)
    return registry
