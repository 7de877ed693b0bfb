// A small Lambda function: greets the caller and signs the greeting with a CRC-32 computed by
// native code (@node-rs/crc32 ships one optional package per platform; lambda-cd package installs
// the one for Lambda's CPU and glibc, whatever machine builds the zip).
import { crc32 } from '@node-rs/crc32';

export function greeting(name) {
  const message = `${process.env.GREETING ?? 'Hello'}, ${name}!`;
  return { message, crc32: crc32(message).toString(16).padStart(8, '0') };
}

export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify(greeting(event?.name ?? 'world')) });
