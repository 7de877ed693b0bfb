"""A small Lambda function: greets the caller and names the weekday of a date."""
import json
import os

from dateutil import parser


def weekday(date_text):
    return parser.isoparse(date_text).strftime("%A")


def handler(event, context):
    name = event.get("name", "world")
    body = {"message": f"{os.environ.get('GREETING', 'Hello')}, {name}!"}
    if "date" in event:
        body["weekday"] = weekday(event["date"])
    return {"statusCode": 200, "body": json.dumps(body)}
