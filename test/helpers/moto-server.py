"""moto's server plus one test-only route that puts a CloudFormation stack into a state moto
itself never produces (moto fails a bad resource in the CreateStack call and never writes
CREATE_FAILED or ROLLBACK_* events), and the behaviour of AWS::Lambda::Version and
AWS::Lambda::Alias in CloudFormation that moto lacks (see aws_lambda_versions below).

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


def aws_lambda_versions():
    """What CloudFormation does on AWS with versions and aliases, where moto 5 differs:
    - AWS::Lambda::Version: Ref is the version's ARN and GetAtt Version its number (moto: the
      logical id, no attributes); Description and CodeSha256 reach PublishVersion (a CodeSha256
      other than the code's fails, as on AWS); publishing with nothing changed fails with
      Lambda's "Version already exists" (moto returns the last version); CREATE_COMPLETE and, when a
      retained version leaves the stack, DELETE_SKIPPED events name the version's ARN.
    - An executed update change set refreshes the stack's outputs (moto keeps the create's).
    - On an update, new versions are published after the functions are updated (CloudFormation
      follows the Ref; moto creates added resources before it modifies the others).
    - AWS::Lambda::Alias is created, updated and deleted (moto skips the type). The alias's
      UpdatePolicy is ignored: there is no CodeDeploy, the alias moves at once (AllAtOnce).
    """
    import base64
    from moto.awslambda import models as lambda_models
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.common_models import CloudFormationModel

    def add_event(account_id, region, stack_id, logical_id, physical_id, resource_type, status):
        backend = cloudformation_backends[account_id][region]
        stack = backend.stacks.get(stack_id)
        if stack is None:
            return
        stack.events.append(Event(stack_id=stack_id, stack_name=stack.name, logical_resource_id=logical_id, physical_resource_id=physical_id,
                                  resource_type=resource_type, resource_status=status, resource_status_reason=None, resource_properties=None))

    Version = lambda_models.LambdaVersion

    def version_init(self, spec):
        self.version = spec["Version"]
        self.arn = spec.get("Arn")
        self.function_arn = spec.get("FunctionArn")

    @classmethod
    def create_version(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = lambda_models.lambda_backends[account_id][region_name]
        function = backend.get_function(properties["FunctionName"])
        versions = backend._lambdas._functions[function.function_name]["versions"]
        if versions and not function.code_or_config_updated:
            raise ValidationError(message=f"Version already exists: {versions[-1].function_arn}. Please modify the function to create a new version.")
        expected = properties.get("CodeSha256")
        if expected and expected != function.code_sha_256:
            raise ValidationError(message=f"CodeSha256 {expected} does not match the function's code {function.code_sha_256}")
        published = backend.publish_version(function.function_name, properties.get("Description", ""))
        unqualified = published.function_arn.rsplit(":", 1)[0]
        version = cls({"Version": str(published.version), "Arn": published.function_arn, "FunctionArn": unqualified})
        add_event(account_id, region_name, kwargs.get("StackId"), kwargs.get("LogicalId"), published.function_arn, "AWS::Lambda::Version", "CREATE_COMPLETE")
        return version

    Version.__init__ = version_init
    Version.create_from_cloudformation_json = create_version
    Version.physical_resource_id = property(lambda self: self.arn)
    Version.has_cfn_attr = classmethod(lambda cls, attr: attr in ("Version", "FunctionArn"))
    Version.get_cfn_attribute = lambda self, attr: {"Version": self.version, "FunctionArn": self.function_arn}[attr]

    class Alias(CloudFormationModel):
        # moto's model registry files a model under the service its module names.
        __module__ = "moto.awslambda.lambda_cd_test"

        def __init__(self, arn, function_name, name):
            self.arn, self.function_name, self.name = arn, function_name, name

        @property
        def physical_resource_id(self):
            return self.arn

        @staticmethod
        def cloudformation_name_type():
            return ""

        @staticmethod
        def cloudformation_type():
            return "AWS::Lambda::Alias"

        @classmethod
        def has_cfn_attr(cls, attr):
            return False

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            p = cloudformation_json["Properties"]
            backend = lambda_models.lambda_backends[account_id][region_name]
            name = backend.get_function(p["FunctionName"]).function_name
            alias = backend.create_alias(p["Name"], name, str(p["FunctionVersion"]), p.get("Description", ""), p.get("RoutingConfig"))
            return cls(alias.arn, name, p["Name"])

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            p = cloudformation_json["Properties"]
            backend = lambda_models.lambda_backends[account_id][region_name]
            backend.update_alias(p["Name"], original_resource.function_name, str(p["FunctionVersion"]), p.get("Description", ""), p.get("RoutingConfig") or {})
            return original_resource

        def delete(self, account_id, region):
            lambda_models.lambda_backends[account_id][region].delete_alias(self.name, self.function_name)

        def is_created(self):
            return True

    original_update = parsing.ResourceMap.update
    original_diff = parsing.ResourceMap.build_resource_diff

    def update(self, template, parameters=None):
        deferred = []
        retained = {name: (self._parsed_resources.get(name), self._resource_json_map[name]) for name in self._resource_json_map
                    if name not in template["Resources"] and self._resource_json_map[name].get("DeletionPolicy") == "Retain"}

        def diff(other_template, params=None):
            actions = original_diff(self, other_template, params)
            new = other_template["Resources"]
            deferred.extend(name for name in actions["Add"] if new[name]["Type"] == "AWS::Lambda::Version")
            actions["Add"] = [name for name in actions["Add"] if name not in deferred]
            actions["Modify"].sort(key=lambda name: new[name]["Type"] != "AWS::Lambda::Function")
            # A retained resource leaves the stack and stays where it is.
            actions["Remove"] = [name for name in actions["Remove"] if name not in retained]
            return actions

        self.build_resource_diff = diff
        try:
            original_update(self, template, parameters)
        finally:
            del self.build_resource_diff
        for name in deferred:
            _ = self[name]
        for name, (resource, resource_json) in retained.items():
            self._parsed_resources.pop(name, None)
            physical = getattr(resource, "physical_resource_id", name)
            add_event(self._account_id, self._region_name, self.stack_id, name, physical, resource_json["Type"], "DELETE_SKIPPED")
        # An executed change set leaves moto's outputs as the create made them; AWS shows the new
        # values (FunctionVersion). Stacks moto gave no outputs (made by a change set) keep none.
        stack = cloudformation_backends[self._account_id][self._region_name].stacks.get(self.stack_id)
        if stack is not None and list(stack.output_map.outputs):
            stack.template_dict = template
            stack.output_map = parsing.OutputMap(self, template, self.stack_id)

    parsing.ResourceMap.update = update
    return Alias


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
    aws_lambda_versions()
    run_simple(host, port, with_control(DomainDispatcherApplication(create_backend_app)), threaded=True, use_reloader=False)
