/** Names inside the pipeline template that its resources and its roles both use. */
import type { BuildStep } from './constants.js';
import type { ReleaseGates } from './release-gates.js';

export type SourceKind = 'codecommit' | 'github';

export interface PipelineSpec {
  /** Pre-production stages in order; PROD is added last. */
  stages: string[];
  source: SourceKind;
  /** The FunctionName parameter's default: the repository's Name, when generated in one. */
  functionName?: string;
  /** The repository's Runtime: the default ImageUri is the image variant with that Python. */
  runtime?: string;
  image?: string;
  notify?: string;
  /**
   * Where the CodeBuild projects take their buildspecs from: written into the projects (default;
   * a repository needs no buildspecs/ folder, as in 2018), or buildspecs/ in the source.
   */
  buildspecs?: BuildspecSource;
  /** Approval before stages' deploys, and the coordinated stage (generator/release-gates.ts). */
  gates?: ReleaseGates;
  /** A multi-function repository's functions (lambda-cd.yaml): generator/pipeline-functions.ts. */
  functions?: { id: string; name: string }[];
}

export const BUILDSPEC_SOURCES = ['inline', 'repository'] as const;
export type BuildspecSource = (typeof BUILDSPEC_SOURCES)[number];

/** What the NotificationEmail parameter (and --notify) accepts. */
export const EMAIL_PATTERN = '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$';

/** Logical ids, physical name suffixes and descriptions of the CodeBuild projects. */
export const PROJECTS: Record<BuildStep, { logicalId: string; suffix: string; description: string }> = {
  unittests: { logicalId: 'UnittestsProject', suffix: 'unittests', description: 'lambda-cd unit-test' },
  build: { logicalId: 'BuildProject', suffix: 'build', description: 'lambda-cd package, create-cf and publish' },
  integrationtests: { logicalId: 'IntegrationTestsProject', suffix: 'integrationtests', description: 'lambda-cd integration-test against one stage' },
};

/** The CodeBuild steps a pipeline has: integration tests only when there is a pre-production stage. */
export function buildSteps(spec: PipelineSpec): BuildStep[] {
  return spec.stages.length > 0 ? ['unittests', 'build', 'integrationtests'] : ['unittests', 'build'];
}

/** Fn::Sub text of a project's name. */
export const projectName = (step: BuildStep) => `\${AWS::StackName}-${PROJECTS[step].suffix}`;
/** Fn::Sub text of a stage's function stack name (as the 2018 system named it). */
export const functionStackName = (stage: string) => `\${AWS::StackName}Functions${stage}`;
