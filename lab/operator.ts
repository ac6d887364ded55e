import { Lab } from './lab';
import { OPERATOR_ACCESS_KEY_ID } from './recorder';

/**
 * The environment an operator's `cdk-ec2-blue-green` gets against a lab: the SDK pointed at the
 * lab's recording proxy (the lab answers Step Functions; everything else is moto), signed as an
 * operator (not a handler, so the IAM gate does not judge it), the fleet given by
 * BLUE_GREEN_STATE_MACHINE.
 */
export function operatorEnv(lab: Lab): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: lab.recorder.endpoint,
    AWS_ACCESS_KEY_ID: OPERATOR_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'operator',
    AWS_REGION: 'us-east-1',
    BLUE_GREEN_STATE_MACHINE: lab.stateMachineArn(),
    USER: 'ops-tester',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}
