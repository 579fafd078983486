"""Provider errors become one-line CLI errors here, at the edge (no stack traces)."""

from collections.abc import Iterator
from contextlib import contextmanager

import click

from tally_contract.errors import ServiceError, TallyError

LOCAL_HINT = "start `tally up` for local mode"


@contextmanager
def translated(what: str, *, no_credentials: str = LOCAL_HINT) -> Iterator[None]:
    """``no_credentials``: what to tell an operator who has no AWS credentials."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from redis.exceptions import RedisError

    try:
        yield
    except NoCredentialsError:
        raise click.ClickException(f"{what}: no AWS credentials ({no_credentials})") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise click.ClickException(f"{what}: {error.get('Code', 'error')}: {error.get('Message', '')}") from None
    except ServiceError as exc:
        if exc.code == "NoCredentialsError":
            raise click.ClickException(f"{what}: no AWS credentials ({no_credentials})") from None
        raise click.ClickException(f"{what}: {exc}") from None
    except (BotoCoreError, RedisError, TallyError) as exc:
        raise click.ClickException(f"{what}: {exc}") from None
