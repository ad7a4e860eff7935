// The addresses and keys of the servers e2e/e2e_test.go started
// (TestNodeClients sets them). Run alone, the tests need the same variables.

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through "go test ./e2e/ -run TestNodeClients"`);
  }
  return value;
}

export const gatewayKey = need('GATEWAY_KEY');
export const corsOrigin = need('CORS_ORIGIN');
export const bedrockEmulatorURL = need('BEDROCK_EMULATOR_URL');
export const awsRegion = need('AWS_REGION');
export const awsCredentials = {
  accessKeyId: need('AWS_ACCESS_KEY_ID'),
  secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
};

/** The gateways under test: one per upstream, and the model to ask for. */
export const gateways = [
  { name: 'bedrock', url: need('GATEWAY_URL'), model: 'claude-sonnet-4-5' },
  { name: 'anthropic', url: need('GATEWAY_ANTHROPIC_URL'), model: 'claude-sonnet-4-5' },
];

let counter = 0;

/** A suffix that makes a prompt unique, so the emulators' counted faults
 * ([[throttle*1]]) and prompt cache never see it twice. */
export function nonce() {
  counter += 1;
  return `(node ${process.pid} ${Date.now()} ${counter})`;
}
