import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { putResponse } from '../common/cfn-response';
import { autoScaling, CLIENT_CONFIG, ssm } from '../common/clients';
import { handleEvent } from './fleet-resources';

export type { CloudFormationResponse } from '../common/cfn-response';

const cloudFormation = new CloudFormationClient(CLIENT_CONFIG);

/** Provider of `Custom::BlueGreenParameter` and `Custom::BlueGreenInitialCapacity`. Event: a CloudFormation custom resource request. */
export const handler = async (event: CloudFormationCustomResourceEvent) =>
  handleEvent(event, { ssm, autoScaling, cloudFormation, respond: putResponse });
