import { EC2Client } from '@aws-sdk/client-ec2';
import { CLIENT_CONFIG, nameSocketErrors } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { smokeTest, SmokeTestRequest, SmokeTestResponse } from './smoke-test';

export type { SmokeTestRequest, SmokeTestResponse } from './smoke-test';

// Created on first use, then reused across invocations: only smoke tests that reach the test
// listener through the load balancer's private addresses need it. Imported by name, not with
// import(): that kept the whole EC2 client in the bundle (1.5 MB, most of the cold start); by
// name the bundle keeps the client and what DescribeNetworkInterfaces needs (about 17 KB, with
// the literal schema keys of scripts/bundle-handlers.mjs).
let ec2Client: EC2Client | undefined;
const ec2: Pick<EC2Client, 'send'> = {
  send: (async (command: Parameters<EC2Client['send']>[0]) => {
    ec2Client ??= nameSocketErrors(new EC2Client(CLIENT_CONFIG));
    return ec2Client.send(command);
  }) as EC2Client['send'],
};

/** "Run smoke tests". Payload: the state. */
export const handler = async (event: SmokeTestRequest): Promise<SmokeTestResponse> =>
  smokeTest(event, { ec2, config: loadFleetConfig(event), now: systemClock });
