import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { Colour, CutoverErrorName, FleetConfig } from '../../lib/private/contract';
import { loadFleetConfig, parseFleetConfig } from '../../lambda/common/config';
import { waitForChange } from '../../lambda/common/dns';
import { logger } from '../../lambda/common/logger';
import { findLive } from '../../lambda/find-live/find-live';
import { prepare } from '../../lambda/prepare/prepare';
import { describeFailure } from '../../lambda/release-lock/release-lock';
import { rollBack } from '../../lambda/roll-back/roll-back';
import { scaleToZero } from '../../lambda/scale-to-zero/scale-to-zero';
import { shift } from '../../lambda/shift/shift';
import { resolveEndpoint } from '../../lambda/smoke-test/smoke-test';
import { clock, deployState, DNS_FLEET, FakeAws, FLEET, route53Error } from './fake-aws';

let time = clock();
const sleeps: number[] = [];
const sleep = async (ms: number) => {
  sleeps.push(ms);
  time.advance(ms / 1000);
};

beforeEach(() => {
  time = clock('2025-03-01T12:00:00.000Z');
  sleeps.length = 0;
});

describe('stickiness on the production rule', () => {
  const sticky: FleetConfig = { ...FLEET, stepSeconds: 300, stickinessSeconds: 600 };
  const aws = new FakeAws(sticky);
  const deps = (config: FleetConfig = sticky) => ({ elbv2: aws.elbv2, dynamoDb: aws.dynamoDb, config, now: time.now });
  const stickinessOf = () => aws.rules.get(sticky.productionRuleArn)!.find((a) => a.Type === 'forward')!.ForwardConfig!.TargetGroupStickinessConfig;
  beforeEach(() => aws.reset());

  it('turns stickiness on with the fleet duration while a canary splits traffic', async () => {
    await shift({ state: deployState(), weight: 10 }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(sticky.productionRuleArn)).toEqual({ blue: 90, green: 10 });
    expect(stickinessOf()).toEqual({ Enabled: true, DurationSeconds: 600 });
  });

  it('turns stickiness off in the same call that moves the rest, so no client stays pinned to the previous colour', async () => {
    await shift({ state: deployState(), weight: 10 }, deps());
    aws.resetHistory();

    await shift({ state: deployState({ targetWeight: 10 }), weight: 100 }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(sticky.productionRuleArn)).toEqual({ blue: 0, green: 100 });
    expect(stickinessOf()).toEqual({ Enabled: false });
  });

  it('turns stickiness off when rolling back from a split, in the one call that restores traffic', async () => {
    await shift({ state: deployState(), weight: 25 }, deps());
    aws.resetHistory();

    await rollBack(deployState({ trafficMoved: true, targetWeight: 25 }), deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(aws.weights(sticky.productionRuleArn)).toEqual({ blue: 100, green: 0 });
    expect(stickinessOf()).toEqual({ Enabled: false });
  });

  it('makes no call when weights and stickiness are already right (a retried task)', async () => {
    await shift({ state: deployState(), weight: 50 }, deps());
    aws.resetHistory();

    await shift({ state: deployState(), weight: 50 }, deps());

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 1);
    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
  });

  it('applies a changed stickiness duration at the next split even when the weights are already so', async () => {
    await shift({ state: deployState(), weight: 50 }, deps());
    aws.resetHistory();

    await shift({ state: deployState(), weight: 50 }, deps({ ...sticky, stickinessSeconds: 60 }));

    expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 1);
    expect(stickinessOf()).toEqual({ Enabled: true, DurationSeconds: 60 });
  });

  it('never turns stickiness on when the fleet has none (0), and turns off stickiness set by hand', async () => {
    aws.rules.get(sticky.productionRuleArn)![0].ForwardConfig!.TargetGroupStickinessConfig = { Enabled: true, DurationSeconds: 3600 };

    await shift({ state: deployState(), weight: 10 }, deps({ ...sticky, stickinessSeconds: 0 }));

    expect(stickinessOf()).toEqual({ Enabled: false });
  });
});

describe('Route 53 switching', () => {
  const aws = new FakeAws(DNS_FLEET);
  const deps = (config: FleetConfig = DNS_FLEET) => ({
    elbv2: aws.elbv2, route53: aws.route53, autoScaling: aws.autoScaling, ssm: aws.ssm, ec2: aws.ec2, dynamoDb: aws.dynamoDb, config, now: time.now, sleep,
  });
  const record = (colour: Colour, weight: number): ResourceRecordSet => ({
    Name: 'www.example.com.',
    Type: 'A',
    SetIdentifier: colour,
    Weight: weight,
    AliasTarget: { DNSName: DNS_FLEET.route53!.targets[colour].dnsName, HostedZoneId: 'Z32O12XQLNTSW2', EvaluateTargetHealth: false },
  });
  beforeEach(() => aws.reset());
  afterEach(() => jest.restoreAllMocks());

  describe('shift', () => {
    it('moves all traffic with one change that UPSERTs both weighted records, then waits until it is INSYNC', async () => {
      aws.pendingPolls = 2;

      const out = await shift({ state: deployState(), weight: 100 }, deps());

      expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
      expect(aws.route53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
        HostedZoneId: 'Z0123456789ABCDEFGHIJ',
        ChangeBatch: {
          Comment: 'Blue/green cutover of web: blue 0%, green 100%',
          Changes: [{ Action: 'UPSERT', ResourceRecordSet: record(Colour.BLUE, 0) }, { Action: 'UPSERT', ResourceRecordSet: record(Colour.GREEN, 100) }],
        },
      });
      expect(aws.route53Mock).toHaveReceivedCommandTimes(GetChangeCommand, 3);
      expect(aws.route53Mock).toHaveReceivedCommandWith(GetChangeCommand, { Id: '/change/C0001' });
      expect(sleeps).toEqual([1000, 2000, 4000]);
      expect(aws.recordWeights()).toEqual({ blue: 0, green: 100 });
      expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
      expect(out).toMatchObject({ trafficMoved: true, targetWeight: 100 });
    });

    it('moves a canary step of 10% in the records', async () => {
      const out = await shift({ state: deployState(), weight: 10 }, deps());

      expect(aws.recordWeights()).toEqual({ blue: 90, green: 10 });
      expect(out.stages?.map((s) => s.stage)).toEqual(['Shift 10% of traffic']);
    });

    it('makes no change when the records already have the weights (a retried task)', async () => {
      await shift({ state: deployState(), weight: 100 }, deps());
      aws.resetHistory();

      const out = await shift({ state: deployState(), weight: 100 }, deps());

      expect(aws.route53Mock).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 1);
      expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 0);
      expect(aws.route53Mock).toHaveReceivedCommandTimes(GetChangeCommand, 0);
      expect(out.trafficMoved).toBe(true);
    });

    it('fails with DnsChangePending when the change is not INSYNC within the wait, after writing the weights', async () => {
      aws.pendingPolls = 1000;

      await expect(shift({ state: deployState(), weight: 100 }, deps())).rejects.toMatchObject({
        name: CutoverErrorName.DNS_CHANGE_PENDING,
        message: 'Route 53 change /change/C0001 of the Route 53 records www.example.com (blue 0%, green 100%) was not INSYNC after 240 s: moving traffic back.',
      });
      expect(aws.recordWeights()).toEqual({ blue: 0, green: 100 });
      expect(Math.max(...sleeps)).toBe(10_000);
    });

    it('does not fail a rollback execution whose change is slow to be INSYNC: going back is what was asked for', async () => {
      aws.setRecordWeights(0, 100);
      aws.pendingPolls = 1000;

      const out = await shift({ state: deployState({ action: 'rollback', live: Colour.GREEN, target: Colour.BLUE }), weight: 100 }, deps());

      expect(aws.recordWeights()).toEqual({ blue: 100, green: 0 });
      expect(out).toMatchObject({ trafficMoved: true, targetWeight: 100 });
    });

    it('writes CNAME records with their TTL when the fleet uses them', async () => {
      const cname: FleetConfig = { ...DNS_FLEET, route53: { ...DNS_FLEET.route53!, recordType: 'CNAME', ttlSeconds: 30 } };
      const cnameAws = new FakeAws(cname);

      await shift({ state: deployState(), weight: 100 }, { ...deps(cname), route53: cnameAws.route53 });

      expect(cnameAws.route53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
        ChangeBatch: expect.objectContaining({
          Changes: [
            { Action: 'UPSERT', ResourceRecordSet: { Name: 'www.example.com.', Type: 'CNAME', SetIdentifier: 'blue', Weight: 0, TTL: 30, ResourceRecords: [{ Value: cname.route53!.targets.blue.dnsName }] } },
            { Action: 'UPSERT', ResourceRecordSet: { Name: 'www.example.com.', Type: 'CNAME', SetIdentifier: 'green', Weight: 100, TTL: 30, ResourceRecords: [{ Value: cname.route53!.targets.green.dnsName }] } },
          ],
        }),
      });
      expect(cnameAws.recordWeights()).toEqual({ blue: 0, green: 100 });
    });

    it('points a record back at its load balancer when it was changed by hand', async () => {
      const records = aws.records.get('Z0123456789ABCDEFGHIJ')!;
      records[1].AliasTarget!.DNSName = 'somewhere-else.example.net.';

      await shift({ state: deployState(), weight: 0 }, deps());

      expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
      expect(aws.records.get('Z0123456789ABCDEFGHIJ')![1].AliasTarget!.DNSName).toBe(`${DNS_FLEET.route53!.targets.green.dnsName}.`);
    });
  });

  describe('roll-back', () => {
    it('restores 100% to the previous colour with one change, waits for INSYNC and records how long it took', async () => {
      aws.setRecordWeights(75, 25);
      aws.pendingPolls = 1;

      const out = await rollBack(deployState({ trafficMoved: true, targetWeight: 25, alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T11:59:59.000Z' } }), deps());

      expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
      expect(aws.recordWeights()).toEqual({ blue: 100, green: 0 });
      expect(out.rollback).toMatchObject({ reason: 'web-green-5xx', dnsInSync: true, dnsSyncMs: 3000, trafficRestoredAt: '2025-03-01T12:00:03.000Z' });
      expect(aws.route53Mock).toHaveReceivedCommandTimes(GetChangeCommand, 2);
    });

    it('does not fail when the change is not INSYNC in time: the weights are written and Route 53 will follow', async () => {
      aws.setRecordWeights(0, 100);
      aws.pendingPolls = 1000;
      const warn = jest.spyOn(logger, 'warn');

      const out = await rollBack(deployState({ trafficMoved: true, targetWeight: 100 }), deps());

      expect(aws.recordWeights()).toEqual({ blue: 100, green: 0 });
      expect(out.rollback).toMatchObject({ dnsInSync: false, dnsSyncMs: 240_000 });
      expect(warn).toHaveBeenCalledWith('The Route 53 change moving traffic back is not INSYNC yet', { dnsChangeId: '/change/C0001', waitedMs: 240_000 });
    });

    it('tells the operator how long the records took, in the RolledBack cause', () => {
      const state = deployState({
        trafficMoved: true,
        alarm: { name: 'web-green-5xx', detectedAt: '2025-03-01T11:59:59.000Z' },
        rollback: { reason: 'web-green-5xx', decidedAt: '2025-03-01T11:59:59.000Z', trafficRestoredAt: '2025-03-01T12:00:31.000Z', revertCallMs: 120, dnsInSync: true, dnsSyncMs: 31_500 },
        scaledToZero: [Colour.GREEN],
      });

      expect(describeFailure(state, 'rolled-back', 'the Route 53 records www.example.com').cause).toBe(
        'Alarm web-green-5xx in ALARM at 2025-03-01T11:59:59.000Z; traffic back on blue 32.0 s after detection ' +
        '(revert call took 120 ms, Route 53 change INSYNC after 31.5 s; clients follow within the record TTL); green scaled to zero.',
      );
    });

    it('names the records when moving traffic back failed', () => {
      const state = deployState({ trafficMoved: true, error: { Error: 'States.Timeout', Cause: 'timed out' }, rollbackError: { Error: 'AccessDenied', Cause: 'no' } });

      expect(describeFailure(state, 'rolled-back', 'the Route 53 records www.example.com').cause).toBe(
        'States.Timeout after traffic moved (timed out); moving traffic back to blue failed (AccessDenied: no): the Route 53 records www.example.com may still send traffic to green. ' +
        'Set their weights by hand (blue 100, green 0), then scale green to zero.',
      );
    });
  });

  describe('find-live', () => {
    it('finds the live colour from the records and never reads a listener rule', async () => {
      aws.setRecordWeights(0, 100);

      const out = await findLive(deployState({ live: undefined, target: undefined }), deps());

      expect(out).toMatchObject({ live: Colour.GREEN, target: Colour.BLUE });
      expect(aws.route53Mock).toHaveReceivedCommandWith(ListResourceRecordSetsCommand, {
        HostedZoneId: 'Z0123456789ABCDEFGHIJ', StartRecordName: 'www.example.com.', StartRecordType: 'A',
      });
      expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 0);
    });

    it('fails with FleetStateConflict when the records split traffic', async () => {
      aws.setRecordWeights(90, 10);

      await expect(findLive(deployState(), deps())).rejects.toMatchObject({
        name: 'FleetStateConflict',
        message: 'The Route 53 records www.example.com split traffic (blue 90%, green 10%): a previous cutover was interrupted mid-shift. ' +
          'Finish it by hand first: set the records\' weights to 100 for the colour that should serve and 0 for the other, then start again. Nothing was changed.',
      });
    });

    it('fails with FleetStateConflict naming the fix when a record was deleted', async () => {
      aws.records.set('Z0123456789ABCDEFGHIJ', aws.records.get('Z0123456789ABCDEFGHIJ')!.filter((r) => r.SetIdentifier !== 'green'));

      await expect(findLive(deployState(), deps())).rejects.toMatchObject({
        name: 'FleetStateConflict',
        message: "The Route 53 record www.example.com A with set identifier 'green' does not exist in hosted zone Z0123456789ABCDEFGHIJ (fleet 'web'): " +
          "it was deleted outside the stack. Re-create it by hand (weighted, set identifier 'green', pointing at dualstack.web-green-222.eu-west-1.elb.amazonaws.com, " +
          'weight 100 if green should serve, otherwise 0), then start again. Nothing was changed.',
      });
    });

    it('fails with FleetStateConflict when a record of neither colour has weight', async () => {
      aws.records.get('Z0123456789ABCDEFGHIJ')!.push({ ...record(Colour.BLUE, 5), SetIdentifier: 'orange' });

      await expect(findLive(deployState(), deps())).rejects.toMatchObject({
        name: 'FleetStateConflict',
        message: "The Route 53 records www.example.com A of fleet 'web' also answer with set identifier 'orange' (weight 5), which is neither blue nor green: " +
          'set its weight to 0 or delete it by hand, then start again. Nothing was changed.',
      });
    });

    it('ignores other names and types in the zone', async () => {
      aws.records.get('Z0123456789ABCDEFGHIJ')!.push(
        { Name: 'www.example.com.', Type: 'AAAA', SetIdentifier: 'blue', Weight: 0, AliasTarget: record(Colour.BLUE, 0).AliasTarget },
        { Name: 'api.example.com.', Type: 'A', SetIdentifier: 'orange', Weight: 100, AliasTarget: record(Colour.BLUE, 0).AliasTarget },
      );

      await expect(findLive(deployState(), deps())).resolves.toMatchObject({ live: Colour.BLUE });
    });
  });

  describe('scaling a colour to zero', () => {
    it('refuses while the records send the colour traffic', async () => {
      aws.setRecordWeights(50, 50);

      await expect(scaleToZero({ state: deployState({ trafficMoved: true }), colour: 'target' }, deps())).rejects.toMatchObject({
        name: 'FleetStateConflict',
        message: 'Refusing to scale green to zero: the Route 53 records www.example.com send it 50% of the traffic (blue 50%, green 50%). Move the traffic off green first. Nothing was changed.',
      });
      expect(aws.asgMock).toHaveReceivedCommandTimes(UpdateAutoScalingGroupCommand, 0);
    });

    it('scales the colour once the records send it nothing', async () => {
      aws.setGroup(Colour.GREEN, { min: 2, max: 4, desired: 2 }, ['i-0g1', 'i-0g2']);

      await scaleToZero({ state: deployState({ trafficMoved: true, rollback: { reason: 'x', decidedAt: time.iso() } }), colour: 'target' }, deps());

      expect(aws.group(Colour.GREEN)).toMatchObject({ min: 0, desired: 0, max: 4 });
      expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 0);
    });
  });

  describe('prepare and smoke tests', () => {
    it('has no test rule to point: it writes the release and sizes the target only', async () => {
      await prepare(deployState(), deps());

      expect(aws.elbv2Mock).toHaveReceivedCommandTimes(DescribeRulesCommand, 0);
      expect(aws.elbv2Mock).toHaveReceivedCommandTimes(ModifyRuleCommand, 0);
      expect(aws.group(Colour.GREEN)).toMatchObject({ min: 2, max: 4, desired: 2 });
    });

    it('sends the smoke checks to the target\'s own load balancer', async () => {
      aws.ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [{ PrivateIpAddress: '10.0.1.20' }] });

      const endpoint = await resolveEndpoint({ ...deps(), env: {} }, Colour.GREEN);

      expect(aws.ec2Mock).toHaveReceivedCommandWith(DescribeNetworkInterfacesCommand, {
        Filters: [{ Name: 'description', Values: ['ELB app/web-green/2222222222222222'] }],
      });
      expect(endpoint).toEqual({ base: new URL('http://10.0.1.20:80'), host: 'web-green-222.eu-west-1.elb.amazonaws.com' });
    });
  });

  describe('configuration', () => {
    it('parses the configuration the construct renders for Route 53 switching', () => {
      expect(loadFleetConfig({ config: DNS_FLEET })).toEqual(DNS_FLEET);
    });

    it('names what is missing', () => {
      const bad = { ...DNS_FLEET, route53: { ...DNS_FLEET.route53, recordType: 'AAAA', targets: { blue: DNS_FLEET.route53!.targets.blue } }, colours: { ...DNS_FLEET.colours, green: FLEET.colours.green } };

      expect(() => parseFleetConfig(bad)).toThrow(
        'The fleet configuration at config does not describe a fleet: route53.recordType must be one of A, CNAME; route53.targets.green must be an object; ' +
        'colours.green.loadBalancer must be an object with Route 53 switching (the smoke tests call it).',
      );
    });
  });

  describe('waiting for a change', () => {
    it('returns at once for a change already INSYNC', async () => {
      const sync = await waitForChange(aws.route53, { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() }, { now: time.now, sleep });

      expect(sync).toEqual({ inSync: true, waitedMs: 0, polls: 0 });
      expect(aws.route53Mock).toHaveReceivedCommandTimes(GetChangeCommand, 0);
    });

    it('surfaces a throttling error from GetChange so the state machine retries', async () => {
      aws.route53Mock.on(GetChangeCommand).rejects(route53Error('Throttling', 'Rate exceeded'));

      await expect(waitForChange(aws.route53, { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() }, { now: time.now, sleep }))
        .rejects.toMatchObject({ name: 'Throttling' });
    });
  });
});
