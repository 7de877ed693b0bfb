"""moto's server plus one test-only route that puts a CloudFormation stack into a state moto
itself never produces (moto fails a bad resource in the CreateStack call and never writes
CREATE_FAILED or ROLLBACK_* events).

    POST /lambda-cd-test/stack-state
    {"region": "us-east-1", "stack": "NAME", "status": "ROLLBACK_COMPLETE",
     "events": [{"logicalId": "Fn", "type": "AWS::Lambda::Function", "status": "CREATE_FAILED", "reason": "..."}]}

sets the stack's status and appends the events (oldest first) as AWS would have written them.
lambda-cd then reads the stack over moto's ordinary API. Everything else is moto_server.

Usage: python3 moto-server.py HOST PORT
"""
import json
import sys

from moto.cloudformation.models import Event, cloudformation_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

ROUTE = "/lambda-cd-test/stack-state"


def set_stack_state(body):
    backend = cloudformation_backends[DEFAULT_ACCOUNT_ID][body.get("region", "us-east-1")]
    stack = backend.get_stack(body["stack"])
    for event in body.get("events", []):
        stack_event = event.get("type", "AWS::CloudFormation::Stack") == "AWS::CloudFormation::Stack"
        stack.events.append(Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=event.get("logicalId", stack.name),
            physical_resource_id=stack.stack_id if stack_event else event.get("physicalId", ""),
            resource_type=event.get("type", "AWS::CloudFormation::Stack"),
            resource_status=event["status"],
            resource_status_reason=event.get("reason"),
            resource_properties=None,
        ))
    stack.status = body["status"]
    return {"stackId": stack.stack_id, "status": stack.status}


def with_control(app):
    def control(environ, start_response):
        if environ.get("PATH_INFO") != ROUTE:
            return app(environ, start_response)
        request = Request(environ)
        try:
            result = set_stack_state(json.loads(request.get_data(as_text=True)))
            response = Response(json.dumps(result), status=200, mimetype="application/json")
        except Exception as error:  # the test sees why its precondition failed
            response = Response(json.dumps({"error": repr(error)}), status=400, mimetype="application/json")
        return response(environ, start_response)

    return control


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, with_control(DomainDispatcherApplication(create_backend_app)), threaded=True, use_reloader=False)
