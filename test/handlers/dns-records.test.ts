import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { DnsRecordsProperties } from '../../lib/private/contract';
import { CloudFormationResponse, handleEvent } from '../../lambda/dns-records/dns-records';
import { DNS_FLEET, FakeAws, route53Error } from './fake-aws';

const ZONE = 'Z0123456789ABCDEFGHIJ';
const aws = new FakeAws(DNS_FLEET);
const responses: Array<{ url: string; response: CloudFormationResponse }> = [];
const deps = { route53: aws.route53, respond: async (url: string, response: CloudFormationResponse) => { responses.push({ url, response }); } };

const PROPS: DnsRecordsProperties = {
  HostedZoneId: ZONE,
  RecordName: 'www.example.com',
  RecordType: 'A',
  Targets: {
    blue: { DnsName: 'dualstack.web-blue-111.eu-west-1.elb.amazonaws.com', HostedZoneId: 'Z32O12XQLNTSW2' },
    green: { DnsName: 'dualstack.web-green-222.eu-west-1.elb.amazonaws.com', HostedZoneId: 'Z32O12XQLNTSW2' },
  },
};

function event(type: 'Create' | 'Update' | 'Delete', props: object = PROPS, extra: object = {}): CloudFormationCustomResourceEvent {
  return {
    RequestType: type,
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:dns-records',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/web/1',
    RequestId: 'req-1',
    LogicalResourceId: 'WebDnsRecords',
    ResourceType: 'Custom::BlueGreenDnsRecords',
    ResourceProperties: { ServiceToken: 'x', ...props },
    ...(type === 'Create' ? {} : { PhysicalResourceId: `${ZONE}/www.example.com` }),
    ...extra,
  } as CloudFormationCustomResourceEvent;
}

const names = () => (aws.records.get(ZONE) ?? []).map((r) => `${r.Name} ${r.Type} ${r.SetIdentifier}=${r.Weight}`);

beforeEach(() => {
  aws.reset();
  aws.records.set(ZONE, []);
  responses.length = 0;
});
afterEach(() => jest.restoreAllMocks());

describe('the weighted records resource', () => {
  it('creates both records in one change, blue at 100 and green at 0, and answers CloudFormation', async () => {
    const out = await handleEvent(event('Create'), deps);

    expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(aws.route53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: ZONE,
      ChangeBatch: expect.objectContaining({ Changes: [expect.objectContaining({ Action: 'CREATE' }), expect.objectContaining({ Action: 'CREATE' })] }),
    });
    expect(names()).toEqual(['www.example.com. A blue=100', 'www.example.com. A green=0']);
    expect(out).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `${ZONE}/www.example.com`,
      StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/web/1',
      RequestId: 'req-1',
      LogicalResourceId: 'WebDnsRecords',
      Data: { RecordName: 'www.example.com' },
    });
    expect(responses).toEqual([{ url: 'https://cloudformation-custom-resource-response.example/response', response: out }]);
  });

  it('refuses to take over records that already exist, and the Delete that follows leaves them alone', async () => {
    aws.setRecordWeights(0, 100);

    const created = await handleEvent(event('Create'), deps);

    expect(created).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'failed-create-req-1', Reason: expect.stringContaining('but it already exists') });
    aws.resetHistory();
    const deleted = await handleEvent(event('Delete', PROPS, { PhysicalResourceId: created.PhysicalResourceId }), deps);
    expect(deleted.Status).toBe('SUCCESS');
    expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 0);
    expect(aws.recordWeights()).toEqual({ blue: 0, green: 100 });
  });

  it('keeps the live weights when an update points the records at new load balancers', async () => {
    aws.setRecordWeights(0, 100);
    const moved = { ...PROPS, Targets: { ...PROPS.Targets, green: { DnsName: 'dualstack.web-green-999.eu-west-1.elb.amazonaws.com', HostedZoneId: 'Z32O12XQLNTSW2' } } };

    const out = await handleEvent(event('Update', moved, { OldResourceProperties: PROPS }), deps);

    expect(out.Status).toBe('SUCCESS');
    expect(aws.route53Mock).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({ Changes: [expect.objectContaining({ Action: 'UPSERT' }), expect.objectContaining({ Action: 'UPSERT' })] }),
    });
    expect(aws.recordWeights()).toEqual({ blue: 0, green: 100 });
    expect(aws.records.get(ZONE)![1].AliasTarget!.DNSName).toBe('dualstack.web-green-999.eu-west-1.elb.amazonaws.com.');
  });

  it('keeps the live weights when an update turns alias records into CNAME records, in one change', async () => {
    aws.setRecordWeights(0, 100);
    const cname = { ...PROPS, RecordType: 'CNAME', Ttl: '30', Targets: {
      blue: { DnsName: 'web-blue-111.eu-west-1.elb.amazonaws.com', HostedZoneId: 'Z32O12XQLNTSW2' },
      green: { DnsName: 'web-green-222.eu-west-1.elb.amazonaws.com', HostedZoneId: 'Z32O12XQLNTSW2' },
    } };

    const out = await handleEvent(event('Update', cname, { OldResourceProperties: PROPS }), deps);

    expect(out.Status).toBe('SUCCESS');
    expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
    expect(names()).toEqual(['www.example.com. CNAME blue=0', 'www.example.com. CNAME green=100']);
    expect(aws.records.get(ZONE)![1]).toMatchObject({ TTL: 30, ResourceRecords: [{ Value: 'web-green-222.eu-west-1.elb.amazonaws.com' }] });
  });

  // A rename adds the new name's IAM policy and removes the old name's; CloudFormation deletes the
  // removed policy only in UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, after the update ("Ongoing removal of
  // old resources ... after a successful stack update", AWS CloudFormation User Guide, stack status
  // codes), and sends the Delete for the old physical id in that same phase, in no order we rely on.
  const WWW = { zoneId: ZONE, names: ['www.example.com'] };
  const SHOP = { zoneId: ZONE, names: ['shop.example.com'] };
  const renamed = { ...PROPS, RecordName: 'shop.example.com' };

  it('moves renamed records within the Update, weights kept, while both names\' policies exist; the cleanup Delete finds nothing left', async () => {
    aws.setRecordWeights(0, 100);
    aws.route53Statements = [WWW, SHOP];

    const out = await handleEvent(event('Update', renamed, { OldResourceProperties: PROPS }), deps);

    expect(out).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${ZONE}/shop.example.com` });
    const batches = aws.route53Mock.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch!.Changes!.map((ch) => `${ch.Action} ${ch.ResourceRecordSet!.Name}`));
    expect(batches).toEqual([
      ['UPSERT shop.example.com.', 'UPSERT shop.example.com.'],
      ['DELETE www.example.com.', 'DELETE www.example.com.'],
    ]);
    expect(names()).toEqual(['shop.example.com. A blue=0', 'shop.example.com. A green=100']);

    // Cleanup: the old name's policy may be gone already; nothing needs it.
    aws.route53Statements = [SHOP];
    aws.resetHistory();
    await expect(handleEvent(event('Delete', PROPS), deps)).resolves.toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 0);
    expect(names()).toEqual(['shop.example.com. A blue=0', 'shop.example.com. A green=100']);
  });

  it('moves renamed records back when CloudFormation rolls the update back', async () => {
    aws.setRecordWeights(0, 100);
    aws.route53Statements = [WWW, SHOP];
    await handleEvent(event('Update', renamed, { OldResourceProperties: PROPS }), deps);

    const back = await handleEvent(event('Update', PROPS, { OldResourceProperties: renamed, PhysicalResourceId: `${ZONE}/shop.example.com` }), deps);

    expect(back).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(names()).toEqual(['www.example.com. A blue=0', 'www.example.com. A green=100']);
  });

  it('fails a rename it cannot finish, says why and what to do, and puts the new name back so the rollback finds the records where they were', async () => {
    aws.setRecordWeights(0, 100);
    // One policy updated in place (a stack from before per-name policies): only the new name is allowed.
    aws.route53Statements = [SHOP];

    const out = await handleEvent(event('Update', renamed, { OldResourceProperties: PROPS }), deps);

    expect(out).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(out.Reason).toBe(
      `The weighted records www.example.com A (set identifiers 'blue', 'green') in hosted zone ${ZONE} could not be deleted after the move to shop.example.com: ` +
      'route53:ChangeResourceRecordSets (DELETE) failed with AccessDenied. ' +
      'The records at shop.example.com were put back as they were; nothing changed. ' +
      "The provider's role may change a record name only while the stack has that name's policy (one AWS::IAM::Policy per name and zone). " +
      'A stack deployed by a version of this library without per-name policies has none for www.example.com: deploy the library upgrade once without changing the records, then change them. ' +
      'Otherwise delete these records by hand and retry. ' +
      'Route 53 said: User: arn:aws:sts::111122223333:assumed-role/web-DnsRecordsProviderRole/dns-records is not authorized to perform: ' +
      `route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/${ZONE} because no identity-based policy allows the route53:ChangeResourceRecordSets action`,
    );
    expect(out.Reason!.length).toBeLessThan(1000);
    expect(names()).toEqual(['www.example.com. A blue=0', 'www.example.com. A green=100']);

    // CloudFormation's rollback puts the policy back as it was, then sends the Update shop -> www,
    // which finds the records at www and keeps them.
    aws.route53Statements = [WWW];
    const back = await handleEvent(event('Update', PROPS, { OldResourceProperties: renamed, PhysicalResourceId: `${ZONE}/www.example.com` }), deps);
    expect(back).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(names()).toEqual(['www.example.com. A blue=0', 'www.example.com. A green=100']);
  });

  it('fails an update, changing nothing, when a record is missing and the live colour cannot be known', async () => {
    aws.setRecordWeights(0, 100);
    aws.records.set(ZONE, aws.records.get(ZONE)!.filter((r) => r.SetIdentifier !== 'blue'));

    const out = await handleEvent(event('Update', { ...PROPS, RecordType: 'A' }, { OldResourceProperties: PROPS }), deps);

    expect(out).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(out.Reason).toBe(
      `The weighted record www.example.com A with set identifier 'blue' is missing from hosted zone ${ZONE}, so the weights that say which colour is live are unknown. ` +
      'Re-create it by hand with the weight of the colour that should serve (100 for the serving colour, 0 for the other), then deploy again.',
    );
    expect(aws.route53Mock).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 0);
  });

  it('deletes the records exactly as they are, whatever the weights, and leaves other records alone', async () => {
    aws.setRecordWeights(25, 75);
    aws.records.get(ZONE)!.push({ Name: 'api.example.com.', Type: 'A', SetIdentifier: 'blue', Weight: 1, AliasTarget: { DNSName: 'x.', HostedZoneId: 'Z1', EvaluateTargetHealth: false } });

    const out = await handleEvent(event('Delete'), deps);

    expect(out.Status).toBe('SUCCESS');
    expect(names()).toEqual(['api.example.com. A blue=1']);
  });

  it('deletes nothing and succeeds when the records or the zone are already gone', async () => {
    await expect(handleEvent(event('Delete'), deps)).resolves.toMatchObject({ Status: 'SUCCESS' });
    aws.records.delete(ZONE);
    await expect(handleEvent(event('Delete'), deps)).resolves.toMatchObject({ Status: 'SUCCESS' });
  });

  it('never reports records as deleted while they still answer: a denied DELETE fails the Delete, naming the records, the action and the fix', async () => {
    aws.setRecordWeights(100, 0);
    aws.route53Statements = [SHOP];

    const out = await handleEvent(event('Delete'), deps);

    expect(out).toMatchObject({ Status: 'FAILED', PhysicalResourceId: `${ZONE}/www.example.com` });
    expect(out.Reason).toMatch(new RegExp(`^The weighted records www\\.example\\.com A \\(set identifiers 'blue', 'green'\\) in hosted zone ${ZONE} could not be deleted: ` +
      'route53:ChangeResourceRecordSets \\(DELETE\\) failed with AccessDenied\\. They still answer for the name\\. .*delete these records by hand and retry\\. Route 53 said: User: .* is not authorized'));
    expect(names()).toEqual(['www.example.com. A blue=100', 'www.example.com. A green=0']);
  });

  it('fails a Delete on any other Route 53 error too', async () => {
    aws.setRecordWeights(100, 0);
    aws.route53Mock.on(ChangeResourceRecordSetsCommand).rejects(route53Error('Throttling', 'Rate exceeded'));

    await expect(handleEvent(event('Delete'), deps)).resolves.toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('failed with Throttling. They still answer for the name. Fix the cause and retry. Route 53 said: Rate exceeded') });
  });

  it('answers FAILED with the problem when the properties are malformed', async () => {
    const out = await handleEvent(event('Create', { ...PROPS, RecordType: 'MX', Targets: { blue: PROPS.Targets.blue } }), deps);

    expect(out).toMatchObject({
      Status: 'FAILED',
      Reason: 'Invalid Custom::BlueGreenDnsRecords properties: RecordType must be A or CNAME; Targets.green must have DnsName and HostedZoneId.',
    });
    expect(aws.route53Mock).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 0);
  });

  it('answers FAILED, not nothing, when Route 53 fails', async () => {
    aws.route53Mock.on(ChangeResourceRecordSetsCommand).rejects(route53Error('Throttling', 'Rate exceeded'));

    await expect(handleEvent(event('Create'), deps)).resolves.toMatchObject({ Status: 'FAILED', Reason: 'Rate exceeded' });
    expect(responses).toHaveLength(1);
  });
});
