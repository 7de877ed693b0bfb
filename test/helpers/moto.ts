/**
 * moto's server on 127.0.0.1: a real AWS API endpoint the real SDK talks HTTP to.
 * One server per test file; each test should use its own names.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';

/** moto_server plus a test-only route that sets a stack's state (see moto-server.py). */
const CONTROLLED_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'moto-server.py');

export interface MotoServer {
  endpoint: string;
  /** Environment for the SDK and for child processes (boto3 in test files). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `control`: also serve POST /lambda-cd-test/stack-state (use setStackState). */
export async function startMoto(options: { control?: boolean } = {}): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ResultPromise = options.control
    ? execa('python3', [CONTROLLED_SERVER, '127.0.0.1', String(port)], { reject: false, stdio: 'ignore' })
    : execa('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { reject: false, stdio: 'ignore' });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== undefined && child.exitCode !== null) {
      child.kill();
      throw new Error(`moto_server did not start on ${endpoint}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SESSION_TOKEN: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
    },
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}

export interface InjectedEvent {
  logicalId?: string;
  type?: string;
  status: string;
  reason?: string;
}

/**
 * Puts a stack into a state moto never produces itself (CREATE_FAILED events, ROLLBACK_COMPLETE,
 * UPDATE_ROLLBACK_FAILED, an operation in progress): the cloud's state as a precondition, set
 * the way a test creates a bucket. Needs startMoto({ control: true }).
 */
export async function setStackState(moto: MotoServer, stack: string, status: string, events: InjectedEvent[] = []): Promise<void> {
  const response = await fetch(`${moto.endpoint}/lambda-cd-test/stack-state`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ region: moto.env.AWS_REGION, stack, status, events }),
  });
  if (!response.ok) throw new Error(`setStackState ${stack}: ${await response.text()}`);
}
