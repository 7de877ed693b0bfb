"""Integration test in the 2018 style: the function's ARN arrives as sys.argv[1]."""
import json
import sys

import boto3

arn = sys.argv[1]
client = boto3.client("lambda")
response = client.invoke(FunctionName=arn, Payload=json.dumps({"name": "pipeline"}).encode())
payload = json.loads(response["Payload"].read())
assert "FunctionError" not in response, payload
assert payload["statusCode"] == 200, payload
print("invoked", arn, payload)
