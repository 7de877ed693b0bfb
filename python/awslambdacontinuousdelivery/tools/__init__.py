"""lambda-cd's implementation of the 2018 helper library ``awslambdacontinuousdelivery.tools``.

2018 function repositories import it in ``config/<Stage>/iam.py``. This module needs nothing beyond
the standard library; ``awslambdacontinuousdelivery.tools.iam`` builds troposphere and awacs objects.
"""
import re

__all__ = ["alphanum"]

_NOT_ALPHANUMERIC = re.compile("[^a-zA-Z0-9]")


def alphanum(s: str) -> str:
    """``s`` without every character that is not an ASCII letter or digit (CloudFormation logical ids)."""
    return _NOT_ALPHANUMERIC.sub("", s)
