/**
 * Text from tools and user files is masked, escaped and cut before it reaches a message
 * (lib/redact.ts): what a CI log would otherwise keep forever.
 */
import { describe, expect, it } from 'vitest';
import { escapeControl, excerpt, redactSecrets, safeName } from '../lib/redact.js';

const env = {
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEJr',
  DB_URL: 'postgres://db.internal:5432/orders',
  HOME: '/root',
  AWS_REGION: 'eu-west-1',
  SHORT: 'abc',
};

describe('redactSecrets', () => {
  it('masks an environment dump (pip echoing -r /proc/self/environ), harmless variables included', () => {
    const dump = Object.entries(env).map(([name, value]) => `${name}=${value}`).join('\u0000');
    const masked = redactSecrets(`Invalid requirement: '${dump}'`, env);
    for (const value of Object.values(env)) expect(masked).not.toContain(value);
    expect(masked).toContain('AWS_SECRET_ACCESS_KEY=***');
  });

  it('masks values of secret-named variables and credential-like values of others wherever they appear, not ordinary words', () => {
    const text = `token FwoGZXIvYXdzEJr used for postgres://db.internal:5432/orders from /root in eu-west-1 (abc) by lambda-cd`;
    const masked = redactSecrets(text, { ...env, npm_package_name: 'lambda-cd', STACK: 'OrdersPipeline' });
    expect(masked).toBe('token *** used for *** from /root in eu-west-1 (abc) by lambda-cd');
  });

  it('masks secrets it recognises without the environment', () => {
    const masked = redactSecrets([
      'key AKIAIOSFODNN7EXAMPLE',
      'password=hunter22',
      '"client_secret": "s3cr3t-value"',
      'Authorization: Bearer abcdef123456',
      'Looking in indexes: https://alice:pa55word@pypi.example.com/simple',
      'ghp_abcdefghijklmnopqrstuvwxyz0123',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
    ].join('\n'), {});
    for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'hunter22', 's3cr3t-value', 'abcdef123456', 'pa55word', 'alice', 'ghp_abc', 'MIIEow']) {
      expect(masked).not.toContain(secret);
    }
    expect(masked).toContain('https://***@pypi.example.com/simple');
    expect(masked).toContain('password=***');
  });
});

describe('escapeControl and safeName', () => {
  it('escapes newlines and terminal control characters so a name cannot forge a line or colour a log', () => {
    expect(escapeControl('Tim\nout\u001b[31m\u0007\u2028')).toBe('Tim\\nout\\x1b[31m\\x07\\u2028');
    expect(safeName('x'.repeat(500))).toHaveLength(123);
  });
});

describe('excerpt', () => {
  it('keeps a few lines, joined into one, masked and bounded', () => {
    const text = ['', 'first', 'second password=abcd1234', 'third', 'fourth'].join('\n');
    expect(excerpt(text, { maxLines: 2 })).toBe('first | second password=***');
    expect(excerpt(text, { maxLines: 2, fromEnd: true })).toBe('third | fourth');
    expect(excerpt('y'.repeat(1000)).length).toBe(303);
  });
});
