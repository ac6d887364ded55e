import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { WARNING_IDS } from '../../lib';
import { fleetStack, onlyProblem, propsError } from './fleet-fixture';

const CERT = elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:123456789012:certificate/abc');

describe('BlueGreenFleet rejects props that cannot work, naming the prop, the value and the fix', () => {
  const cases: Array<[string, Parameters<typeof propsError>[0], string]> = [
    ['minCapacity is negative', () => ({ capacity: { minCapacity: -1, maxCapacity: 2 } }),
      'capacity.minCapacity is -1: set it to a whole number of instances, 0 or more.'],
    ['minCapacity is not whole', () => ({ capacity: { minCapacity: 1.5, maxCapacity: 2 } }),
      'capacity.minCapacity is 1.5: set it to a whole number of instances, 0 or more.'],
    ['maxCapacity is below 1', () => ({ capacity: { minCapacity: 0, maxCapacity: 0 } }),
      'capacity.maxCapacity is 0: set it to a whole number of instances, 1 or more, so a colour can serve traffic.'],
    ['maxCapacity is below minCapacity', () => ({ capacity: { minCapacity: 5, maxCapacity: 3 } }),
      'capacity.minCapacity (5) is greater than capacity.maxCapacity (3): set minCapacity to at most maxCapacity, or raise maxCapacity.'],
    ['instancePort is out of range', () => ({ instancePort: 70000 }),
      'instancePort is 70000: set it to a port number between 1 and 65535.'],
    ['productionPort is 0', () => ({ productionPort: 0 }),
      'productionPort is 0: set it to a port number between 1 and 65535.'],
    ['healthCheck.port is out of range', () => ({ healthCheck: { port: 65536 } }),
      'healthCheck.port is 65536: set it to a port number between 1 and 65535.'],
    ['test and production ports are the same', () => ({ productionPort: 8080 }),
      'testPort (8080) is the same as productionPort (8080): give the test listener a port of its own, such as 9080.'],
    ['HTTPS without a certificate', () => ({ protocol: elbv2.ApplicationProtocol.HTTPS }),
      'protocol is HTTPS but no certificates are given: pass certificates (for example elbv2.ListenerCertificate.fromArn(...)), or use ApplicationProtocol.HTTP.'],
    ['HTTP with a certificate', () => ({ protocol: elbv2.ApplicationProtocol.HTTP, certificates: [CERT] }),
      'protocol is HTTP but 1 certificate(s) are given: use ApplicationProtocol.HTTPS (the default when certificates are given), or remove the certificates.'],
    ['a TLS policy on HTTP', () => ({ sslPolicy: elbv2.SslPolicy.TLS13_13 }),
      'sslPolicy is set but the listeners use HTTP: remove sslPolicy, or give certificates to use HTTPS.'],
    ['a redirect without HTTPS', () => ({ httpRedirect: true }),
      'httpRedirect is true but the listeners use HTTP: give certificates to use HTTPS, or set httpRedirect to false.'],
    ['a redirect whose port is taken by the production listener', () => ({ certificates: [CERT], httpRedirect: true, productionPort: 80 }),
      'productionPort is 80, which httpRedirect needs for its redirect listener: choose another productionPort or set httpRedirect to false.'],
    ['health check interval too short', () => ({ healthCheck: { interval: Duration.seconds(4), timeout: Duration.seconds(2) } }),
      'healthCheck.interval is 4 seconds: set it between 5 and 300 seconds.'],
    ['health check interval too long', () => ({ healthCheck: { interval: Duration.seconds(301) } }),
      'healthCheck.interval is 301 seconds: set it between 5 and 300 seconds.'],
    ['health check timeout too short', () => ({ healthCheck: { timeout: Duration.seconds(1) } }),
      'healthCheck.timeout is 1 seconds: set it between 2 and 120 seconds.'],
    ['health check timeout too long', () => ({ healthCheck: { interval: Duration.seconds(300), timeout: Duration.seconds(121) } }),
      'healthCheck.timeout is 121 seconds: set it between 2 and 120 seconds.'],
    ['health check timeout not below the interval', () => ({ healthCheck: { interval: Duration.seconds(10), timeout: Duration.seconds(10) } }),
      'healthCheck.timeout (10 seconds) is not shorter than healthCheck.interval (10 seconds): set the timeout below the interval.'],
    ['healthy threshold below 2', () => ({ healthCheck: { healthyThresholdCount: 1 } }),
      'healthCheck.healthyThresholdCount is 1: set it to a whole number between 2 and 10.'],
    ['unhealthy threshold above 10', () => ({ healthCheck: { unhealthyThresholdCount: 11 } }),
      'healthCheck.unhealthyThresholdCount is 11: set it to a whole number between 2 and 10.'],
    ['health check path without a slash', () => ({ healthCheck: { path: 'health' } }),
      "healthCheck.path is 'health': use a path that starts with '/' and is at most 1024 characters, such as '/health'."],
    ['health check codes out of range', () => ({ healthCheck: { healthyHttpCodes: '200-599' } }),
      "healthCheck.healthyHttpCodes is '200-599': use codes between 200 and 499 as a code ('200'), a list ('200,204') or a range ('200-299')."],
    ['health check codes malformed', () => ({ healthCheck: { healthyHttpCodes: 'ok' } }),
      "healthCheck.healthyHttpCodes is 'ok': use codes between 200 and 499 as a code ('200'), a list ('200,204') or a range ('200-299')."],
    ['health check range reversed', () => ({ healthCheck: { healthyHttpCodes: '299-200' } }),
      "healthCheck.healthyHttpCodes is '299-200': use codes between 200 and 499 as a code ('200'), a list ('200,204') or a range ('200-299')."],
    ['deregistration delay too long', () => ({ deregistrationDelay: Duration.seconds(3601) }),
      'deregistrationDelay is 3601 seconds: set it between 0 and 3600 seconds.'],
    ['initial version with spaces', () => ({ initialVersion: 'v 1' }),
      "initialVersion is 'v 1': use 1 to 128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit, such as '1.4.2'."],
    ['parameter prefix with a trailing slash', () => ({ parameterPrefix: '/web/' }),
      "parameterPrefix is '/web/': use a path such as '/web/prod' (starts with '/', no trailing '/', letters, digits, '_', '.', '-', not under /aws or /ssm)."],
    ['parameter prefix under /aws', () => ({ parameterPrefix: '/aws/mine' }),
      "parameterPrefix is '/aws/mine': use a path such as '/web/prod' (starts with '/', no trailing '/', letters, digits, '_', '.', '-', not under /aws or /ssm)."],
    ['alarm threshold negative', () => ({ alarms: { serverErrors: { threshold: -1 } } }),
      'alarms.serverErrors.threshold is -1: set it to a number, 0 or more.'],
    ['alarm period not whole minutes', () => ({ alarms: { unhealthyHosts: { period: Duration.seconds(90) } } }),
      'alarms.unhealthyHosts.period is 90 seconds: load balancer metrics are published per minute, so use a whole number of minutes, such as Duration.minutes(1).'],
    ['alarm evaluation periods zero', () => ({ alarms: { serverErrors: { evaluationPeriods: 0, datapointsToAlarm: 1 } } }),
      'alarms.serverErrors.evaluationPeriods is 0: set it to a whole number, 1 or more.'],
    ['alarm datapoints above evaluation periods', () => ({ alarms: { unhealthyHosts: { datapointsToAlarm: 3 } } }),
      'alarms.unhealthyHosts.datapointsToAlarm is 3: set it between 1 and alarms.unhealthyHosts.evaluationPeriods (2).'],
    ['latency threshold zero', () => ({ alarms: { latencyP99: { threshold: Duration.millis(0) } } }),
      'alarms.latencyP99.threshold is 0 ms: set it to a positive Duration, such as Duration.seconds(2).'],
  ];

  test.each(cases)('fails when %s', (_name, overrides, expected) => {
    const message = propsError(overrides);
    expect(message.split('\n')[0]).toBe('Invalid BlueGreenFleet props at TestStack/Web:');
    expect(onlyProblem(message)).toBe(expected);
  });

  test('lists every problem at once', () => {
    const message = propsError(() => ({ capacity: { minCapacity: 5, maxCapacity: 3 }, testPort: 0 }));
    expect(message).toBe([
      'Invalid BlueGreenFleet props at TestStack/Web:',
      '  - capacity.minCapacity (5) is greater than capacity.maxCapacity (3): set minCapacity to at most maxCapacity, or raise maxCapacity.',
      '  - testPort is 0: set it to a port number between 1 and 65535.',
    ].join('\n'));
  });

  test('skips values that are unresolved tokens', () => {
    const { stack } = fleetStack({ instancePort: undefined });
    const port = new (require('aws-cdk-lib').CfnParameter)(stack, 'Port', { type: 'Number' }).valueAsNumber;
    expect(() => fleetStack({ testPort: port })).not.toThrow();
  });
});

describe('BlueGreenFleet warns about risky but legal settings', () => {
  const cases: Array<[string, Parameters<typeof fleetStack>[0], string, string]> = [
    ['minCapacity is 0', { capacity: { minCapacity: 0, maxCapacity: 2 } }, WARNING_IDS.minCapacityZero,
      'capacity.minCapacity is 0: blue starts with no instances and the production listener answers 503 until a cutover scales a colour up. Set minCapacity to 1 or more to serve traffic from the first deploy.'],
    ['instances are in public subnets', { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }, WARNING_IDS.publicInstances,
      'vpcSubnets selects public subnets: instances get public addresses. Keep instances in private subnets; only the load balancer needs to be public.'],
    ['the test listener is open to the internet', { testPeers: [ec2.Peer.anyIpv4()] }, WARNING_IDS.testListenerOpen,
      "testPeers includes 0.0.0.0/0: the test listener serves the idle colour before it has passed its smoke tests. Limit testPeers to your VPC or your CI's addresses."],
    ['the deregistration delay is long', { deregistrationDelay: Duration.seconds(600) }, WARNING_IDS.longDeregistrationDelay,
      'deregistrationDelay is 600 seconds: scaling the previous colour to zero waits this long for in-flight requests. Keep it at or below 300 seconds unless requests really run that long.'],
    ['health checks are slow', { healthCheck: { interval: Duration.seconds(120), timeout: Duration.seconds(10), healthyThresholdCount: 5 } }, WARNING_IDS.slowHealthCheck,
      'healthCheck.interval (120 s) times healthCheck.healthyThresholdCount (5) is 600 s: every new instance waits that long before it can take traffic, which slows every cutover. Lower the interval or the threshold.'],
    ['a built-in alarm is disabled', { alarms: { serverErrors: { enabled: false } } }, WARNING_IDS.alarmDisabled,
      'alarms.serverErrors.enabled is false: cutovers no longer roll back on this signal. Add an equivalent alarm with addRollbackAlarm(), or keep it enabled.'],
  ];

  test.each(cases)('warns when %s', (_name, overrides, id, message) => {
    const { stack } = fleetStack(overrides);
    const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*'));
    expect(warnings.map((w) => w.entry.data)).toEqual([`${message} [ack: ${id}]`]);
  });
});
