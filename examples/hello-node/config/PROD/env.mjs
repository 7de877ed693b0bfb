// PROD's variables, computed (the Node.js form of the 2018 env.py): lambda-cd create-cf calls getEnv(stage).
export function getEnv(stage) {
  return { GREETING: 'Hello', LOG_LEVEL: 'INFO', STAGE_NAME: stage };
}
