/**
 * Stand-ins for troposphere and awacs, built as wheels offline (pip's index is out of reach in
 * tests). They keep the parts of the real APIs that 2018 iam.py files and lambda-cd's helper
 * library (python/) use, with the same constructors and the same to_dict()/JSONrepr() output:
 *   troposphere: Sub, Ref, GetAtt, Join, Template-less AWSObject/AWSProperty, iam.Role, iam.Policy
 *   awacs.aws:   Action(prefix, name), Allow, Deny, Policy, Statement, Principal; awacs.sts.AssumeRole
 * Like the real troposphere, Role checks that Policies holds Policy objects.
 */
import { buildWheel } from './wheels.js';

export const TROPOSPHERE_FILES: Record<string, string> = {
  'troposphere/__init__.py': `def encode_to_dict(obj):
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, (list, tuple)):
        return [encode_to_dict(item) for item in obj]
    if isinstance(obj, dict):
        return {key: encode_to_dict(value) for key, value in obj.items()}
    if hasattr(obj, "JSONrepr"):
        return encode_to_dict(obj.JSONrepr())
    return obj

class AWSHelperFn:
    def to_dict(self):
        return encode_to_dict(self.data)

class Sub(AWSHelperFn):
    def __init__(self, input_str, dict_values=None, **values):
        values = {**(dict_values or {}), **values}
        self.data = {"Fn::Sub": [input_str, values] if values else input_str}

class Ref(AWSHelperFn):
    def __init__(self, data):
        self.data = {"Ref": getattr(data, "title", data)}

class GetAtt(AWSHelperFn):
    def __init__(self, logicalName, attrName):
        self.data = {"Fn::GetAtt": [getattr(logicalName, "title", logicalName), attrName]}

class Join(AWSHelperFn):
    def __init__(self, delimiter, values):
        self.data = {"Fn::Join": [delimiter, values]}

class BaseAWSObject:
    resource_type = None
    props = {}
    def __init__(self, title=None, **properties):
        self.title = title
        for key, value in properties.items():
            expected = self.props.get(key)
            if isinstance(expected, list) and isinstance(value, list):
                for item in value:
                    if not isinstance(item, tuple(expected)) and not isinstance(item, AWSHelperFn):
                        raise TypeError("%s: %s is %s, expected %s" % (type(self).__name__, key, type(item), expected))
        self.properties = properties
    def to_dict(self):
        properties = {key: encode_to_dict(value) for key, value in self.properties.items()}
        return {"Type": self.resource_type, "Properties": properties} if self.resource_type else properties

class AWSObject(BaseAWSObject):
    pass

class AWSProperty(BaseAWSObject):
    pass
`,
  'troposphere/iam.py': `from . import AWSObject, AWSProperty

class Policy(AWSProperty):
    props = {}

class Role(AWSObject):
    resource_type = "AWS::IAM::Role"
    props = {"Policies": [Policy]}
`,
};

export const AWACS_FILES: Record<string, string> = {
  'awacs/__init__.py': `class AWSObject:
    def __init__(self, **properties):
        self.properties = properties
    def JSONrepr(self):
        return self.properties
`,
  'awacs/aws.py': `from . import AWSObject

Allow = "Allow"
Deny = "Deny"

class Action:
    def __init__(self, prefix, action=None):
        self.prefix, self.action = prefix, action
    def JSONrepr(self):
        return self.prefix if self.prefix == "*" or not self.action else "%s:%s" % (self.prefix, self.action)

class Principal:
    def __init__(self, principal, resources=None):
        self.data = principal if resources is None else {principal: resources}
    def JSONrepr(self):
        return self.data

class Statement(AWSObject):
    pass

class Policy(AWSObject):
    pass

PolicyDocument = Policy
`,
  'awacs/sts.py': 'from .aws import Action\n\nAssumeRole = Action("sts", "AssumeRole")\n',
  'awacs/logs.py': 'from .aws import Action\n\nCreateLogGroup = Action("logs", "CreateLogGroup")\nCreateLogStream = Action("logs", "CreateLogStream")\nPutLogEvents = Action("logs", "PutLogEvents")\n',
  'awacs/s3.py': 'from .aws import Action\n\nGetObject = Action("s3", "GetObject")\nPutObject = Action("s3", "PutObject")\n',
};

/** troposphere 2.3.0 and awacs 0.8.0 wheels (the stand-ins) in `wheelhouse`. */
export async function buildTroposphereWheels(wheelhouse: string): Promise<void> {
  await buildWheel(wheelhouse, { name: 'troposphere', version: '2.3.0', files: TROPOSPHERE_FILES });
  await buildWheel(wheelhouse, { name: 'awacs', version: '0.8.0', files: AWACS_FILES });
}
