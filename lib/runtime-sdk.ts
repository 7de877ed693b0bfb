/**
 * The AWS SDK for Python that Lambda's Python runtimes carry themselves (in /var/runtime, after
 * the function's own packages on sys.path). Functions import boto3 without listing it, so tests
 * get these versions too, unless the repository's requirements name boto3 or botocore.
 *
 * Source: the "AWS SDK for Python" column of the Python runtimes table in the AWS Lambda
 * Developer Guide (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html), as last
 * published with version numbers; recorded 2026-12-01. AWS now says only that the version
 * "depends on the runtime version and your AWS Region" and publishes no numbers; Lambda updates
 * the SDK with the runtime and never moves it back, so these are the oldest versions a function
 * can meet there. python3.14 came after the numbers stopped: no pin (the newest the index has).
 * To refresh a figure, invoke a function printing boto3.__version__ and botocore.__version__.
 */

export interface RuntimeSdk {
  boto3: string;
  botocore: string;
}

export const RECORDED = '2026-12-01';

export const RUNTIME_SDK: Record<string, RuntimeSdk | undefined> = {
  'python3.10': { boto3: '1.26.90', botocore: '1.29.90' },
  'python3.11': { boto3: '1.26.90', botocore: '1.29.90' },
  'python3.12': { boto3: '1.28.72', botocore: '1.31.72' },
  'python3.13': { boto3: '1.34.145', botocore: '1.34.145' },
  'python3.14': undefined,
};

/**
 * The distributions that come with the SDK in the runtime: a repository whose requirements
 * name one of the first two brings its own SDK, and lambda-cd adds none. The others (their
 * dependencies) follow from pip's resolution within boto3's and botocore's own ranges.
 */
export const SDK_DISTRIBUTIONS = ['boto3', 'botocore', 's3transfer', 'jmespath', 'python-dateutil', 'urllib3', 'six'];
export const SDK_OWN_NAMES = ['boto3', 'botocore'];

/** pip requirement specifiers for the runtime's SDK: pinned, or unpinned when none is recorded. */
export function sdkRequirements(runtime: string, pinned = true): string[] {
  const sdk = RUNTIME_SDK[runtime];
  if (!pinned || !sdk) return ['boto3', 'botocore'];
  return [`boto3==${sdk.boto3}`, `botocore==${sdk.botocore}`];
}
