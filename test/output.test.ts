/** The heartbeat long steps print on stderr (lib/output.ts), with time under test control. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startHeartbeat, withHeartbeat } from '../lib/output.js';

describe('heartbeat', () => {
  let lines: string[];
  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('says every interval that the work is still going, with the elapsed time and the latest detail, and stops', () => {
    let detail: string | undefined;
    const beat = startHeartbeat('unit-test', 'installing requirements.txt', () => detail, 10_000);
    vi.advanceTimersByTime(9_999);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    detail = 'Collecting moto';
    vi.advanceTimersByTime(10_000);
    beat.stop();
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual(['[unit-test] still installing requirements.txt (10 s)\n', '[unit-test] still installing requirements.txt (20 s): Collecting moto\n']);
  });

  it('waits for a detail that is read asynchronously (the tail of a log), and drops it when stopped meanwhile', async () => {
    const beat = startHeartbeat('unit-test', 'installing', async () => 'Downloading botocore', 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lines).toEqual(['[unit-test] still installing (10 s): Downloading botocore\n']);
    let finish!: (text: string) => void;
    const slow = startHeartbeat('unit-test', 'installing', () => new Promise<string>((resolve) => (finish = resolve)), 10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    slow.stop();
    beat.stop();
    finish('too late');
    await vi.advanceTimersByTimeAsync(0);
    expect(lines).toHaveLength(2); // the other heartbeat's second line only
  });

  it('withHeartbeat stops when the work fails, and says nothing for short work', async () => {
    await expect(withHeartbeat('package', 'zipping', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    vi.advanceTimersByTime(60_000);
    expect(lines).toEqual([]);
  });

  it('LAMBDA_CD_HEARTBEAT_SECONDS sets the interval', () => {
    vi.stubEnv('LAMBDA_CD_HEARTBEAT_SECONDS', '2');
    const beat = startHeartbeat('integration-test', 'waiting');
    vi.advanceTimersByTime(4_000);
    beat.stop();
    vi.unstubAllEnvs();
    expect(lines).toHaveLength(2);
  });
});
