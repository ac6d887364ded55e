import type { EC2Client } from '@aws-sdk/client-ec2';
import { CLIENT_CONFIG } from '../common/clients';
import { loadFleetConfig } from '../common/config';
import { systemClock } from '../common/deps';
import { smokeTest, SmokeTestRequest, SmokeTestResponse } from './smoke-test';

export type { SmokeTestRequest, SmokeTestResponse } from './smoke-test';

// Created on first use, then reused across invocations: most smoke tests never need it, and
// loading the EC2 client would double this handler's cold start.
let ec2Client: EC2Client | undefined;
const ec2: Pick<EC2Client, 'send'> = {
  send: (async (command: Parameters<EC2Client['send']>[0]) => {
    ec2Client ??= new (await import('@aws-sdk/client-ec2')).EC2Client(CLIENT_CONFIG);
    return ec2Client.send(command);
  }) as EC2Client['send'],
};

/** "Run smoke tests". Payload: the state. */
export const handler = async (event: SmokeTestRequest): Promise<SmokeTestResponse> =>
  smokeTest(event, { ec2, config: loadFleetConfig(event), now: systemClock });
