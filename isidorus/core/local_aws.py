"""The local stack's AWS endpoints and fixed credentials: nothing reaches real AWS.

One definition for the test settings, the benches and the crash-test loop; the Makefile's
LOCAL_AWS spells the same values for shell commands. The ports come from LOCALSTACK_PORT
and MOTO_PORT, as in scripts/launcher.py. Standard library only, in a package whose
__init__ imports nothing: scripts import it before Django or Celery is set up.
"""

from __future__ import annotations

import os


def local_aws_environment() -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{os.environ.get('LOCALSTACK_PORT', '4566')}",
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '4569')}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
