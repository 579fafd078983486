"""Storage failures, translated from botocore at the storage edge (dynamo.py)."""


class StorageError(Exception):
    """DynamoDB refused a request. ``retryable`` says whether sending it again may work."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ConditionFailed(StorageError):
    """A conditional write found the item changed (the rollup saw newer counts)."""

    def __init__(self, message: str = "condition failed") -> None:
        super().__init__(message, retryable=False)
