import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { BlueGreenFleet, FleetWarnings, SmokeCheck, TrafficShift, TrafficSwitch } from '../../lib';
import { baseProps, fleetStack, onlyProblem, propsError } from './fleet-fixture';

const CERT = elbv2.ListenerCertificate.fromArn('arn:aws:acm:us-east-1:123456789012:certificate/abc');

const zone = (vpc: ec2.IVpc) => route53.HostedZone.fromHostedZoneAttributes(Stack.of(vpc), 'Zone', { hostedZoneId: 'Z0123456789ABCDEFGHIJ', zoneName: 'example.com' });
const dns = (vpc: ec2.IVpc, extra: Partial<route53Switch> = {}) => TrafficSwitch.route53({ zone: zone(vpc), recordName: 'www', ...extra });
type route53Switch = Parameters<typeof TrafficSwitch.route53>[0];

const cutoverCases: Array<[string, Parameters<typeof propsError>[0], string]> = [
  ['the poll interval is 0', () => ({ cutover: { pollInterval: Duration.seconds(0) } }),
    'cutover.pollInterval is 0 seconds: set it to at least 1 second, such as Duration.seconds(10).'],
  ['the poll interval is not whole seconds', () => ({ cutover: { pollInterval: Duration.millis(1500) } }),
    'cutover.pollInterval is 1500 ms: use a whole number of seconds, such as Duration.seconds(2); Step Functions waits in whole seconds.'],
  ['the health timeout is shorter than the poll interval', () => ({ cutover: { pollInterval: Duration.seconds(30), healthyTimeout: Duration.seconds(20) } }),
    'cutover.healthyTimeout (20 seconds) is shorter than cutover.pollInterval (30 seconds): set healthyTimeout to at least pollInterval, so the idle colour has time to become healthy.'],
  ['smokeRounds is 0', () => ({ cutover: { smokeRounds: 0 } }),
    'cutover.smokeRounds is 0: set it to a whole number from 1 to 10.'],
  ['smokeRounds is above 10', () => ({ cutover: { smokeRounds: 11 } }),
    'cutover.smokeRounds is 11: set it to a whole number from 1 to 10.'],
  ['smokeRounds is not whole', () => ({ cutover: { smokeRounds: 2.5 } }),
    'cutover.smokeRounds is 2.5: set it to a whole number from 1 to 10.'],
  ['the bake time is not whole seconds', () => ({ cutover: { bakeTime: Duration.millis(500) } }),
    'cutover.bakeTime is 500 ms: use a whole number of seconds, such as Duration.seconds(1); Step Functions waits in whole seconds.'],
  ['keepPreviousWarm is not whole seconds', () => ({ cutover: { keepPreviousWarm: Duration.millis(2500) } }),
    'cutover.keepPreviousWarm is 2500 ms: use a whole number of seconds, such as Duration.seconds(3); Step Functions waits in whole seconds.'],
  ['the traffic shift is not a TrafficShift', () => ({ cutover: { trafficShift: { kind: 'Canary', steps: [10, 100] } as unknown as TrafficShift } }),
    'cutover.trafficShift is not a TrafficShift: create it with TrafficShift.allAtOnce(), TrafficShift.canary({ ... }) or TrafficShift.linear({ ... }).'],
  ['the canary percentage is 0', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 0, bake: Duration.minutes(5) }) } }),
    'cutover.trafficShift canary percent is 0: set it to a whole number from 1 to 99, such as 10.'],
  ['the canary percentage is 100', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 100, bake: Duration.minutes(5) }) } }),
    'cutover.trafficShift canary percent is 100: set it to a whole number from 1 to 99, such as 10.'],
  ['the canary percentage is not whole', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 12.5, bake: Duration.minutes(5) }) } }),
    'cutover.trafficShift canary percent is 12.5: set it to a whole number from 1 to 99, such as 10.'],
  ['the canary percentage is a token', (vpc) => ({ cutover: { trafficShift: TrafficShift.canary({ percent: new CfnParameter(Stack.of(vpc), 'Percent', { type: 'Number' }).valueAsNumber, bake: Duration.minutes(5) }) } }),
    'cutover.trafficShift canary percent is a token: use a number known at synth time; the state machine has one state per step.'],
  ['the canary bake is 0', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.seconds(0) }) } }),
    'cutover.trafficShift canary bake is 0 seconds: set it to at least 1 second, such as Duration.minutes(5).'],
  ['the linear step is 0', () => ({ cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 0, stepInterval: Duration.minutes(2) }) } }),
    'cutover.trafficShift linear percentPerStep is 0: set it to a whole number from 1 to 99, such as 25 (the last step moves what is left: 30 gives 30, 60, 90 and 100).'],
  ['the linear step is above 99', () => ({ cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 150, stepInterval: Duration.minutes(2) }) } }),
    'cutover.trafficShift linear percentPerStep is 150: set it to a whole number from 1 to 99, such as 25 (the last step moves what is left: 30 gives 30, 60, 90 and 100).'],
  ['the linear step interval is 0', () => ({ cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.seconds(0) }) } }),
    'cutover.trafficShift linear stepInterval is 0 seconds: set it to at least 1 second, such as Duration.minutes(2).'],
  ['the linear step interval is not whole seconds', () => ({ cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.millis(90_500) }) } }),
    'cutover.trafficShift linear stepInterval is 90500 ms: use a whole number of seconds, such as Duration.seconds(91); Step Functions waits in whole seconds.'],
  ['stickiness is 0', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }), stickinessDuration: Duration.seconds(0) } }),
    "cutover.stickinessDuration is 0 seconds: set it between 1 second and 7 days (604800 seconds), the load balancer's range."],
  ['stickiness is longer than 7 days', () => ({ cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }), stickinessDuration: Duration.days(8) } }),
    "cutover.stickinessDuration is 691200 seconds: set it between 1 second and 7 days (604800 seconds), the load balancer's range."],
  ['the cutover outlasts a Step Functions execution', () => ({ cutover: { keepPreviousWarm: Duration.days(366) } }),
    'cutover: the workflow can run for up to 366.2 days (healthyTimeout, smoke tests, shift steps, bakeTime and keepPreviousWarm, plus the retries of every task and a margin), more than the 365 days a Step Functions execution may run: shorten keepPreviousWarm, bakeTime or the shift steps.'],
  ['the cutover polls more often than an execution history holds', () => ({ cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 1, stepInterval: Duration.minutes(10) }) } }),
    'cutover.pollInterval (10 seconds) makes the workflow check health and alarms up to 6131 times (healthyTimeout, each shift step and bakeTime, divided by pollInterval), about 56779 execution history events, more than the 25000 a Step Functions execution may record: raise pollInterval to at least 25 seconds, or shorten healthyTimeout, the shift steps or bakeTime.'],
  ['Route 53 switching is given a load balancer', (vpc) => ({ trafficSwitch: dns(vpc), loadBalancer: new elbv2.ApplicationLoadBalancer(Stack.of(vpc), 'Shared', { vpc }) }),
    'loadBalancer is set but trafficSwitch is TrafficSwitch.route53(): the Route 53 switch creates a load balancer per colour. Remove loadBalancer, or use TrafficSwitch.listenerRule().'],
  ['Route 53 switching is given a test port', (vpc) => ({ trafficSwitch: dns(vpc), testPort: 9000 }),
    "testPort is set but trafficSwitch is TrafficSwitch.route53(): there is no test listener, the idle colour's own load balancer is its test endpoint. Remove testPort."],
  ['Route 53 switching is given test peers', (vpc) => ({ trafficSwitch: dns(vpc), testPeers: [ec2.Peer.ipv4('10.0.0.0/8')] }),
    "testPeers is set but trafficSwitch is TrafficSwitch.route53(): there is no test listener; productionPeers decides who reaches each colour's load balancer. Remove testPeers."],
  ['the zone has no name', (vpc) => ({ trafficSwitch: TrafficSwitch.route53({ zone: route53.HostedZone.fromHostedZoneId(Stack.of(vpc), 'ById', 'Z0123456789ABCDEFGHIJ'), recordName: 'www' }) }),
    'trafficSwitch zone has no name (it was imported with HostedZone.fromHostedZoneId): import it with HostedZone.fromHostedZoneAttributes({ hostedZoneId, zoneName }) so the records and their IAM conditions can be named.'],
  ['the record name is malformed', (vpc) => ({ trafficSwitch: dns(vpc, { recordName: 'my shop' }) }),
    "trafficSwitch recordName is 'my shop': use letters, digits, '-' and '_' separated by dots, relative to the zone ('www') or fully qualified ('www.example.com')."],
  ['the record name is outside the zone', (vpc) => ({ trafficSwitch: dns(vpc, { recordName: 'www.example.org.' }) }),
    "trafficSwitch recordName 'www.example.org.' is not in the zone example.com: use a name in the zone, such as 'www' or 'www.example.com'."],
  ['a CNAME would sit at the zone apex', (vpc) => ({ trafficSwitch: dns(vpc, { recordName: 'example.com', ttl: Duration.seconds(60) }) }),
    "trafficSwitch ttl is set, which makes the records CNAME records, but recordName 'example.com' is the zone apex, where a CNAME cannot sit: remove ttl to use alias records, or choose a name below the apex such as 'www'."],
  ['the TTL is not whole seconds', (vpc) => ({ trafficSwitch: dns(vpc, { ttl: Duration.millis(30_500) }) }),
    'trafficSwitch ttl is 30500 ms: use a whole number of seconds, such as Duration.seconds(31); Step Functions waits in whole seconds.'],
  ['the TTL is a token', (vpc) => ({ trafficSwitch: dns(vpc, { ttl: Duration.seconds(new CfnParameter(Stack.of(vpc), 'Ttl', { type: 'Number' }).valueAsNumber) }) }),
    'trafficSwitch ttl is a token: use a Duration known at synth time, such as Duration.seconds(60); the workflow is built from it.'],
  ['the bake time is a token', (vpc) => ({ cutover: { bakeTime: Duration.minutes(new CfnParameter(Stack.of(vpc), 'Bake', { type: 'Number' }).valueAsNumber) } }),
    'cutover.bakeTime is a token: use a Duration known at synth time, such as Duration.minutes(5); the workflow is built from it.'],
  ['the record name is a token', (vpc) => ({ trafficSwitch: dns(vpc, { recordName: new CfnParameter(Stack.of(vpc), 'Name').valueAsString }) }),
    "trafficSwitch recordName is a token: use a name known at synth time, such as 'www'; it names the records in their IAM conditions."],
  ['stickiness is asked of Route 53 switching', (vpc) => ({ trafficSwitch: dns(vpc), cutover: { trafficShift: TrafficShift.canary({ percent: 10, bake: Duration.minutes(5) }), stickinessDuration: Duration.minutes(1) } }),
    'cutover.stickinessDuration is set but trafficSwitch is TrafficSwitch.route53(): target-group stickiness needs the listener-rule switch, and DNS answers are cached per resolver anyway. Remove stickinessDuration.'],
];

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
    ['log retention is not a period CloudWatch Logs keeps', () => ({ logRetention: 45 as logs.RetentionDays }),
      'logRetention is 45: use a logs.RetentionDays value, such as logs.RetentionDays.ONE_MONTH or logs.RetentionDays.THREE_MONTHS; CloudWatch Logs keeps events only for those periods.'],
    ['log retention is a name instead of a value (JavaScript)', () => ({ logRetention: 'ONE_MONTH' as unknown as logs.RetentionDays }),
      'logRetention is ONE_MONTH: use a logs.RetentionDays value, such as logs.RetentionDays.ONE_MONTH or logs.RetentionDays.THREE_MONTHS; CloudWatch Logs keeps events only for those periods.'],
    ['the removal policy is SNAPSHOT', () => ({ removalPolicy: RemovalPolicy.SNAPSHOT }),
      'removalPolicy is RemovalPolicy.SNAPSHOT, which neither the lock table nor log groups support: use RemovalPolicy.RETAIN to keep them, or RemovalPolicy.DESTROY.'],
    ['the removal policy is not a RemovalPolicy (JavaScript)', () => ({ removalPolicy: 'keep' as RemovalPolicy }),
      "removalPolicy is 'keep': use RemovalPolicy.DESTROY (the default) or RemovalPolicy.RETAIN."],
  ];

  test.each(cases)('fails when %s', (_name, overrides, expected) => {
    const message = propsError(overrides);
    expect(message.split('\n')[0]).toBe('Invalid BlueGreenFleet props at TestStack/Web:');
    expect(onlyProblem(message)).toBe(expected);
  });

  test.each(cutoverCases)('fails when %s', (_name, overrides, expected) => {
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

describe('BlueGreenFleet rejects smoke checks that could never pass, naming the check, the field and the fix', () => {
  const smoke = (...checks: SmokeCheck[]) => () => ({ cutover: { smokeChecks: checks } });
  const http = SmokeCheck.http;
  const cases: Array<[string, Parameters<typeof propsError>[0], string]> = [
    ['the path has no leading slash', smoke(http({ path: 'health' })),
      "cutover.smokeChecks[0].path is 'health': start it with '/', such as '/health'."],
    ['the path is a full URL', smoke(http({ path: '/' }), http({ path: 'https://shop.example.com/health?deep=1' })),
      "cutover.smokeChecks[1].path is 'https://shop.example.com/health?deep=1', a full URL: give only the path, such as '/health?deep=1'; the check calls the test listener (with Route 53 switching, the idle colour's own load balancer)."],
    ['the path is empty', smoke(http({ path: '' })),
      "cutover.smokeChecks[0].path is missing: give the path to request, such as '/health'."],
    ['the path has a space', smoke(http({ path: '/my health' })),
      "cutover.smokeChecks[0].path is '/my health': percent-encode spaces, control characters and non-ASCII characters and leave out any '#' fragment, such as '/my%20health'."],
    ['the path has non-ASCII characters and a fragment', smoke(http({ path: '/grüße#top' })),
      "cutover.smokeChecks[0].path is '/grüße#top': percent-encode spaces, control characters and non-ASCII characters and leave out any '#' fragment, such as '/gr%C3%BC%C3%9Fe'."],
    ['the path is too long', smoke(http({ path: `/${'a'.repeat(1024)}` })),
      'cutover.smokeChecks[0].path is 1025 characters long: keep it to at most 1024 characters; the state machine carries every check in its definition.'],
    ['the status is 2000', smoke(http({ path: '/health', expectedStatus: 2000 })),
      'cutover.smokeChecks[0].expectedStatus is 2000: set it to a whole number from 200 to 599, such as 200 (a 1xx answer is interim: a check sees the final status).'],
    ['the status is informational', smoke(http({ path: '/health', expectedStatus: 101 })),
      'cutover.smokeChecks[0].expectedStatus is 101: set it to a whole number from 200 to 599, such as 200 (a 1xx answer is interim: a check sees the final status).'],
    ['the status is not whole', smoke(http({ path: '/health', expectedStatus: 200.5 })),
      'cutover.smokeChecks[0].expectedStatus is 200.5: set it to a whole number from 200 to 599, such as 200 (a 1xx answer is interim: a check sees the final status).'],
    ['the body text is empty', smoke(http({ path: '/health', bodyContains: '' })),
      'cutover.smokeChecks[0].bodyContains is empty, which every body contains: give the text the body must contain, or leave bodyContains out.'],
    ['the body text is oversized', smoke(http({ path: '/health', bodyContains: 'x'.repeat(5000) })),
      'cutover.smokeChecks[0].bodyContains is 5000 characters long: keep it to at most 1024 characters; the state machine carries every check in its definition.'],
    ['jsonField comes without jsonValue', smoke(http({ path: '/version', jsonField: 'version' })),
      "cutover.smokeChecks[0].jsonField is set without jsonValue: give jsonValue, the value the field must have (such as '${version}'), or leave jsonField out."],
    ['jsonValue comes without jsonField', smoke(http({ path: '/version', jsonValue: '${version}' })),
      "cutover.smokeChecks[0].jsonValue is set without jsonField: give jsonField, the dotted path of the field to compare (such as 'version'), or leave jsonValue out."],
    ['jsonField is JSONPath', smoke(http({ path: '/version', jsonField: '$.build.commit', jsonValue: 'abc' })),
      "cutover.smokeChecks[0].jsonField is '$.build.commit': use a dotted path of field names, such as 'version' or 'build.commit' (array items by index: 'items.0.id'), without '$' or brackets."],
    ['jsonField indexes with brackets', smoke(http({ path: '/version', jsonField: 'items[0].id', jsonValue: '1' })),
      "cutover.smokeChecks[0].jsonField is 'items[0].id': use a dotted path of field names, such as 'version' or 'build.commit' (array items by index: 'items.0.id'), without '$' or brackets."],
    ['jsonField has an empty key', smoke(http({ path: '/version', jsonField: 'build..commit', jsonValue: 'abc' })),
      "cutover.smokeChecks[0].jsonField is 'build..commit': use a dotted path of field names, such as 'version' or 'build.commit' (array items by index: 'items.0.id'), without '$' or brackets."],
    ['jsonValue has a placeholder that is never replaced', smoke(http({ path: '/version', jsonField: 'version', jsonValue: '${VERSION}' })),
      "cutover.smokeChecks[0].jsonValue has the placeholder '${VERSION}', which is never replaced: use '${version}' (the version being released), or no placeholder."],
    ['a request header name is not a header name', smoke(http({ path: '/health', requestHeaders: { 'x smoke': '1' } })),
      "cutover.smokeChecks[0].requestHeaders has the name 'x smoke', which is not a header name: use 1 to 1024 letters, digits and !#$%&'*+-.^_`|~, such as 'x-smoke-test'."],
    ['a request header value has a line break', smoke(http({ path: '/health', requestHeaders: { 'x-smoke': 'a\r\nx-injected: 1' } })),
      "cutover.smokeChecks[0].requestHeaders['x-smoke'] has a line break or another control character: give a single-line value."],
    ['an expected header name is empty', smoke(http({ path: '/health', headers: { '': 'text/plain' } })),
      "cutover.smokeChecks[0].headers has the name '', which is not a header name: use 1 to 1024 letters, digits and !#$%&'*+-.^_`|~, such as 'x-version'."],
    ['an expected header value is oversized', smoke(http({ path: '/health', headers: { 'x-version': 'v'.repeat(2000) } })),
      "cutover.smokeChecks[0].headers['x-version'] is 2000 characters long: keep it to at most 1024 characters; the state machine carries every check in its definition."],
    ['the latency budget is 0', smoke(http({ path: '/health', latencyBudget: Duration.seconds(0) })),
      'cutover.smokeChecks[0].latencyBudget is 0 ms: set it to a positive Duration, such as Duration.seconds(2).'],
    ['the latency budget is not whole milliseconds', smoke(http({ path: '/health', latencyBudget: Duration.millis(2.5) })),
      'cutover.smokeChecks[0].latencyBudget is 2.5 ms: use a whole number of milliseconds, such as Duration.millis(3).'],
    ['the latency budget is a token', (vpc) => ({ cutover: { smokeChecks: [http({ path: '/health', latencyBudget: Duration.seconds(new CfnParameter(Stack.of(vpc), 'Budget', { type: 'Number' }).valueAsNumber) })] } }),
      "cutover.smokeChecks[0].latencyBudget is a token: use a Duration known at synth time, such as Duration.seconds(2); the smoke-test function's timeout is built from it."],
    ['the checks outlast the smoke-test function', () => ({ cutover: { smokeRounds: 10, smokeChecks: Array.from({ length: 22 }, (_, i) => http({ path: `/check/${i}` })) } }),
      "cutover.smokeChecks: 22 checks, 10 rounds, each check allowed twice its latencyBudget (at least 1 second), can take up to 880 seconds, more than the 840 seconds the smoke-test function has (Lambda's 900 seconds less 60 for its own start): use fewer checks or smokeRounds, or shorter latency budgets."],
    ['a check is not a SmokeCheck (a plain object from JavaScript)', () => ({ cutover: { smokeChecks: [{ path: '/health' } as unknown as SmokeCheck] } }),
      "cutover.smokeChecks[0] is not a SmokeCheck: create each check with SmokeCheck.http({ path: '/health', ... })."],
  ];

  test.each(cases)('fails when %s', (_name, overrides, expected) => {
    const message = propsError(overrides);
    expect(message.split('\n')[0]).toBe('Invalid BlueGreenFleet props at TestStack/Web:');
    expect(onlyProblem(message)).toBe(expected);
  });

  test('names every bad field of every check at once', () => {
    const message = propsError(smoke(http({ path: '/ok' }), http({ path: 'health', expectedStatus: 2000, jsonField: 'version' })));
    expect(message.split('\n').slice(1)).toEqual([
      "  - cutover.smokeChecks[1].path is 'health': start it with '/', such as '/health'.",
      '  - cutover.smokeChecks[1].expectedStatus is 2000: set it to a whole number from 200 to 599, such as 200 (a 1xx answer is interim: a check sees the final status).',
      "  - cutover.smokeChecks[1].jsonField is set without jsonValue: give jsonValue, the value the field must have (such as '${version}'), or leave jsonField out.",
    ]);
  });

  test('accepts every kind of valid check', () => {
    expect(() => fleetStack({
      cutover: {
        smokeChecks: [
          http({ path: '/' }),
          http({ path: '/health?deep=1&x=%20y', expectedStatus: 503, bodyContains: 'maintenance' }),
          http({ path: '/old', expectedStatus: 301, headers: { Location: '' } }),
          http({ path: '/version', jsonField: 'build.commit', jsonValue: 'release-${version}', requestHeaders: { 'X-Trace': 'smoke test', Host: 'shop.example.com' } }),
          http({ path: '/items', jsonField: 'items.0.id', jsonValue: '', latencyBudget: Duration.millis(250) }),
        ],
      },
    })).not.toThrow();
  });

  test('skips values that are unresolved tokens', () => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const status = new CfnParameter(stack, 'Status', { type: 'Number' }).valueAsNumber;
    const text = new CfnParameter(stack, 'Text').valueAsString;
    expect(() => new BlueGreenFleet(stack, 'Web', {
      ...baseProps(vpc),
      cutover: { smokeChecks: [http({ path: '/health', expectedStatus: status, bodyContains: text, headers: { 'x-version': text } })] },
    })).not.toThrow();
  });
});

describe('BlueGreenFleet warns about risky but legal settings', () => {
  const cases: Array<[string, Parameters<typeof fleetStack>[0], string, string]> = [
    ['minCapacity is 0', { capacity: { minCapacity: 0, maxCapacity: 2 } }, FleetWarnings.MIN_CAPACITY_ZERO,
      'capacity.minCapacity is 0: blue starts with no instances and the production listener answers 503 until a cutover scales a colour up. Set minCapacity to 1 or more to serve traffic from the first deploy.'],
    ['instances are in public subnets', { vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC } }, FleetWarnings.PUBLIC_INSTANCES,
      'vpcSubnets selects public subnets: instances get public addresses. Keep instances in private subnets; only the load balancer needs to be public.'],
    ['the test listener is open to the internet', { testPeers: [ec2.Peer.anyIpv4()] }, FleetWarnings.TEST_LISTENER_OPEN,
      "testPeers includes 0.0.0.0/0: the test listener serves the idle colour before it has passed its smoke tests. Limit testPeers to your VPC or your CI's addresses."],
    ['the deregistration delay is long', { deregistrationDelay: Duration.seconds(600) }, FleetWarnings.LONG_DEREGISTRATION_DELAY,
      'deregistrationDelay is 600 seconds: scaling the previous colour to zero waits this long for in-flight requests. Keep it at or below 300 seconds unless requests really run that long.'],
    ['health checks are slow', { healthCheck: { interval: Duration.seconds(120), timeout: Duration.seconds(10), healthyThresholdCount: 5 } }, FleetWarnings.SLOW_HEALTH_CHECK,
      'healthCheck.interval (120 s) times healthCheck.healthyThresholdCount (5) is 600 s: every new instance waits that long before it can take traffic, which slows every cutover. Lower the interval or the threshold.'],
    ['a built-in alarm is disabled', { alarms: { serverErrors: { enabled: false } } }, FleetWarnings.ALARM_DISABLED,
      'alarms.serverErrors.enabled is false: cutovers no longer roll back on this signal. Add an equivalent alarm with addRollbackAlarm(), or keep it enabled.'],
  ];

  test.each(cases)('warns when %s', (_name, overrides, id, message) => {
    const { stack } = fleetStack(overrides);
    const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*'));
    expect(warnings.map((w) => w.entry.data)).toEqual([`${message} [ack: ${id}]`]);
  });

  const withZone = (build: (vpc: ec2.IVpc) => Parameters<typeof fleetStack>[0]) => {
    const app = new App();
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    new BlueGreenFleet(stack, 'Web', { ...baseProps(vpc), ...build(vpc) });
    return Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*')).map((w) => w.entry.data);
  };

  const dnsCases: Array<[string, (vpc: ec2.IVpc) => Parameters<typeof fleetStack>[0], string, string]> = [
    ['the record TTL is high', (vpc) => ({ trafficSwitch: dns(vpc, { ttl: Duration.minutes(10) }), cutover: { keepPreviousWarm: Duration.hours(1) } }), FleetWarnings.HIGH_DNS_TTL,
      'trafficSwitch ttl is 600 seconds: after every switch and every rollback, clients and resolvers keep the old answer at least that long. Keep it at 60 seconds or less, or remove it to use alias records.'],
    ['the previous colour is not kept warm for several TTLs', (vpc) => ({ trafficSwitch: dns(vpc), cutover: { keepPreviousWarm: Duration.minutes(2) } }), FleetWarnings.WARM_SHORTER_THAN_DNS_CACHING,
      'cutover.keepPreviousWarm (120 seconds) is shorter than 5 record TTLs (300 seconds): clients and resolvers that still hold the old answer would reach a colour scaled to zero. Keep the previous colour warm for at least 300 seconds.'],
  ];

  test.each(dnsCases)('warns when %s', (_name, build, id, message) => {
    expect(withZone(build)).toEqual([`${message} [ack: ${id}]`]);
  });

  const stickyCases: Array<[string, Parameters<typeof fleetStack>[0], string, string]> = [
    ['stickiness is set for an all-at-once shift', { cutover: { stickinessDuration: Duration.minutes(5) } }, FleetWarnings.STICKINESS_NEVER_USED,
      'cutover.stickinessDuration is set but cutover.trafficShift moves all traffic at once: stickiness only applies while traffic is split, so it never takes effect. Remove it, or use TrafficShift.canary() or TrafficShift.linear().'],
    ['stickiness outlasts each step', { cutover: { trafficShift: TrafficShift.linear({ percentPerStep: 25, stepInterval: Duration.minutes(1) }), stickinessDuration: Duration.minutes(5) } }, FleetWarnings.STICKINESS_OUTLASTS_STEP,
      'cutover.stickinessDuration (300 seconds) is longer than each shift step (60 seconds): clients keep the colour they first got for longer than a step lasts, so the new colour mostly sees clients that arrived during the shift. Shorten stickinessDuration to at most the step.'],
  ];

  test.each(stickyCases)('warns when %s', (_name, overrides, id, message) => {
    const { stack } = fleetStack(overrides);
    const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Web', Match.stringLikeRegexp('.*'));
    expect(warnings.map((w) => w.entry.data)).toEqual([`${message} [ack: ${id}]`]);
  });
});
