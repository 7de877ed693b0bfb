/**
 * Errors that end a command. Each carries the exit code the CLI uses, so a runner
 * deep in the stack decides the code and the CLI only prints one line.
 * Exit codes: 0 ok, 1 tests or checks failed, 2 bad usage or configuration,
 * 3 environment or AWS failure.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, environment: 3 } as const;

export class LambdaCdError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line: unknown command or option, missing or malformed value. Exit 2. */
export class UsageError extends LambdaCdError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** The function repository's configuration or files are wrong. Exit 2. */
export class ConfigError extends LambdaCdError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

/** Something outside the repository failed: a missing tool, pip, AWS, the network. Exit 3. */
export class EnvironmentError extends LambdaCdError {
  constructor(message: string) {
    super(message, EXIT.environment);
  }
}

/** Checks ran and failed (a size limit, a lint). Exit 1. */
export class CheckFailedError extends LambdaCdError {
  constructor(message: string) {
    super(message, EXIT.failed);
  }
}
