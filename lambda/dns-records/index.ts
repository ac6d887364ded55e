import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { route53 } from '../common/clients';
import { CloudFormationResponse, handleEvent, putResponse } from './dns-records';

export type { CloudFormationResponse } from './dns-records';

/** Provider of `Custom::BlueGreenDnsRecords`. Event: a CloudFormation custom resource request. */
export const handler = async (event: CloudFormationCustomResourceEvent): Promise<CloudFormationResponse> =>
  handleEvent(event, { route53, respond: putResponse });
